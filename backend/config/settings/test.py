"""Test runs: the real PostGIS and Redis, fast password hashing, quiet logs."""

import tempfile
from pathlib import Path

from .base import *  # noqa: F403
from .base import TEST_SECRET_KEY, env

DEBUG = False
SECRET_KEY = env.str("SECRET_KEY", default=TEST_SECRET_KEY)
# Mails stay in memory (django.core.mail.outbox, pytest-django's mailoutbox).
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
# The suite loads the demo region with DEBUG off.
DEMO_DATA_ALLOWED = True
ALLOWED_HOSTS = ["testserver", "localhost", "127.0.0.1"]
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
LOGGING["root"]["level"] = env.str("LOG_LEVEL", default="WARNING")  # noqa: F405
LOGGING["handlers"]["console"]["formatter"] = "text"  # noqa: F405
STORAGES["staticfiles"] = {  # noqa: F405
    "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
}
# Serve static files straight from the apps, without a collectstatic step.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True
# Throttling is exercised by its own test with its own rates; the suite makes many calls.
REST_FRAMEWORK = {
    **REST_FRAMEWORK,  # noqa: F405
    "DEFAULT_THROTTLE_RATES": {"anon": "100000/min", "user": "100000/min", "auth": "100000/min"},
}
# Uploads and proof photos go to scratch folders, not the project's.
MEDIA_ROOT = Path(tempfile.gettempdir()) / "parcels-test-media"
PRIVATE_MEDIA_ROOT = Path(tempfile.gettempdir()) / "parcels-test-private"
PROOF_PHOTO_ROOT = Path(tempfile.gettempdir()) / "parcels-test-proofs"
STORAGES["proofs"] = {  # noqa: F405
    "BACKEND": "backend.deliveries.storage.PrivateFileSystemStorage",
    "OPTIONS": {"location": str(PROOF_PHOTO_ROOT)},
}

# Celery in tests: a Redis database of its own, purged when a test worker starts, and a short
# visibility timeout so that a killed worker's task is redelivered within seconds.
_redis_base = REDIS_URL.rsplit("/", 1)[0]  # noqa: F405
CELERY_BROKER_URL = env.str("TEST_CELERY_BROKER_URL", default=f"{_redis_base}/14")
CELERY_RESULT_BACKEND = CELERY_BROKER_URL
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 8}
# The simulation tests run `simulate` with a broker of its own (checkouts side by side on one
# Redis each set theirs).
TEST_SIMULATION_BROKER_URL = env.str("TEST_SIMULATION_BROKER_URL", default=f"{_redis_base}/11")
