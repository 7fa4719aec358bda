"""Local development: DEBUG on, a fixed insecure key, human-readable logs."""

import os

from backend.simulation.regions import demo_travel_engine, region_path

from .base import *  # noqa: F403
from .base import DEMO_REGION, DEV_SECRET_KEY, OSRM_DATA, ROOT_DIR, env

DEBUG = env.bool("DEBUG", default=True)
SECRET_KEY = env.str("SECRET_KEY", default=DEV_SECRET_KEY)
# Mails (registration, password reset) are printed where `make run` runs.
EMAIL_BACKEND = env.str("EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
LOGGING["handlers"]["console"]["formatter"] = env.str("LOG_FORMAT", default="text")  # noqa: F405
# Serve static files straight from the apps, without a collectstatic step.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True
# `make run` plays the demo region on the travel times its file is meant for: road times from
# OSRM in process on the data set-up prepared (OSRM_DATA) for a region built from an extract
# (Monaco), the straight-line model for one without (Lyon). TRAVEL_ENGINE in the environment wins.
if "TRAVEL_ENGINE" not in os.environ:
    TRAVEL_ENGINE = demo_travel_engine(region_path(DEMO_REGION, ROOT_DIR), osrm_data=OSRM_DATA)
