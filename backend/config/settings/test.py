"""Test runs: the real PostGIS and Redis, fast password hashing, quiet logs."""

import tempfile
from pathlib import Path

from .base import *  # noqa: F403
from .base import env

DEBUG = False
SECRET_KEY = env.str("SECRET_KEY", default="test-only-insecure-key-0123456789abcdef")
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
# Uploaded proofs go to a scratch folder, not the project's.
MEDIA_ROOT = Path(tempfile.gettempdir()) / "parcels-test-media"

# Celery in tests: a Redis database of its own, purged when a test worker starts, and a short
# visibility timeout so that a killed worker's task is redelivered within seconds.
_redis_base = REDIS_URL.rsplit("/", 1)[0]  # noqa: F405
CELERY_BROKER_URL = env.str("TEST_CELERY_BROKER_URL", default=f"{_redis_base}/14")
CELERY_RESULT_BACKEND = CELERY_BROKER_URL
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 8}
