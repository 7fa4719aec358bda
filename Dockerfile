FROM python:3.12-slim-bookworm

RUN apt-get update \
    && apt-get install -y --no-install-recommends gdal-bin libgdal32 libgeos-c1v5 libproj25 \
    && rm -rf /var/lib/apt/lists/*

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    DJANGO_SETTINGS_MODULE=backend.config.settings.prod
WORKDIR /app
COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt
COPY . .
# collectstatic needs the prod settings to load: a throwaway key, never stored in the image.
RUN SECRET_KEY="$(python -c 'import secrets; print(secrets.token_urlsafe(64))')" \
    ALLOWED_HOSTS=build python manage.py collectstatic --noinput -v 0

RUN useradd --create-home --uid 1000 app \
    && mkdir -p /var/lib/parcels/proofs && chown app /var/lib/parcels/proofs
# Delivery photos: private files, a volume of their own in docker-compose.yml.
ENV PROOF_PHOTO_ROOT=/var/lib/parcels/proofs
USER app
EXPOSE 8000
CMD ["gunicorn", "backend.config.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3"]
