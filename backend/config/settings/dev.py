"""Local development: DEBUG on, a fixed insecure key, human-readable logs."""

from .base import *  # noqa: F403
from .base import DEV_SECRET_KEY, env

DEBUG = env.bool("DEBUG", default=True)
SECRET_KEY = env.str("SECRET_KEY", default=DEV_SECRET_KEY)
# Mails (registration, password reset) are printed where `make run` runs.
EMAIL_BACKEND = env.str("EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
LOGGING["handlers"]["console"]["formatter"] = env.str("LOG_FORMAT", default="text")  # noqa: F405
# Serve static files straight from the apps, without a collectstatic step.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True
