"""Production: refuses to start without a strong secret key of its own and allowed hosts, with
demo accounts or a simulation clock; HTTPS everywhere."""

from django.core.exceptions import ImproperlyConfigured

from .base import *  # noqa: F403
from .base import ALLOWED_HOSTS, PUBLISHED_SECRET_KEYS, SECRET_KEY, SPECTACULAR_SETTINGS, env

MIN_SECRET_KEY_LENGTH = 50

if not SECRET_KEY:
    raise ImproperlyConfigured("SECRET_KEY must be set in the environment for production.")
if SECRET_KEY in PUBLISHED_SECRET_KEYS or SECRET_KEY.startswith("django-insecure"):
    raise ImproperlyConfigured(
        "SECRET_KEY is one published in this repository (a dev, test or compose default): "
        "generate one, e.g. `python -c 'import secrets; print(secrets.token_urlsafe(64))'`."
    )
if len(SECRET_KEY) < MIN_SECRET_KEY_LENGTH or len(set(SECRET_KEY)) < 5:
    raise ImproperlyConfigured(
        f"SECRET_KEY must be at least {MIN_SECRET_KEY_LENGTH} random characters for production."
    )
if not ALLOWED_HOSTS:
    raise ImproperlyConfigured("ALLOWED_HOSTS must be set in the environment for production.")

if env.str("SIMULATION_CLOCK", default=""):
    raise ImproperlyConfigured("SIMULATION_CLOCK is for simulations, never for production.")
if env.bool("DEMO_DATA_ALLOWED", default=False):
    raise ImproperlyConfigured("DEMO_DATA_ALLOWED: demo accounts are never for production.")
DEMO_DATA_ALLOWED = False

# The schema's servers: API_SERVERS, else HTTPS on the first allowed host that is a name.
API_SERVERS = env.list(
    "API_SERVERS",
    default=[f"https://{host.lstrip('.')}" for host in ALLOWED_HOSTS if "*" not in host][:1],
)
SPECTACULAR_SETTINGS = {
    **SPECTACULAR_SETTINGS,
    "SERVERS": [{"url": url.rstrip("/")} for url in API_SERVERS],
}

DEBUG = False
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
# The load balancer probes /healthz over plain HTTP.
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=3600)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_CONTENT_TYPE_NOSNIFF = True
