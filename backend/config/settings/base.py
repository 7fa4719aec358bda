"""Settings shared by every environment. Everything that differs comes from the environment.

Secure by default: DEBUG is off, and only ``dev`` and ``test`` relax anything.
"""

from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import environ
from django.core.exceptions import ImproperlyConfigured

ROOT_DIR = Path(__file__).resolve().parents[3]

env = environ.Env()
# Written by the set-up: where this checkout's local servers are. Real environment variables win.
if (ROOT_DIR / ".local" / "env").is_file():
    env.read_env(str(ROOT_DIR / ".local" / "env"), overwrite=False)

SECRET_KEY = env.str("SECRET_KEY", default="")
# Keys published in this repository, which production refuses (``prod``): the defaults of the
# dev and test settings, the compose file's former fallback, the Dockerfile's former build key.
DEV_SECRET_KEY = "dev-only-insecure-key-do-not-use-in-production"  # noqa: S105 (published)
TEST_SECRET_KEY = "test-only-insecure-key-0123456789abcdef"  # noqa: S105 (published)
PUBLISHED_SECRET_KEYS = frozenset(
    {
        DEV_SECRET_KEY,
        TEST_SECRET_KEY,
        "change-me-compose-only-secret-key-0123456789",
        "build-only",
    }
)
DEBUG = env.bool("DEBUG", default=False)
ALLOWED_HOSTS: list[str] = env.list("ALLOWED_HOSTS", default=[])
CSRF_TRUSTED_ORIGINS: list[str] = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.gis",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "backend.core",
    "backend.accounts",
    "backend.stores",
    "backend.deliveries",
    "backend.matching",
    "backend.simulation",
    "backend.analytics",
    "backend.privacy",
    "rest_framework_simplejwt.token_blacklist",
    "notifications",
    "axes",
]

AUTH_USER_MODEL = "accounts.User"

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Before anything reads the body: a too-large one is a 413 without being read.
    "backend.core.middleware.RequestBodyLimitMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, as django-axes asks: turns a locked-out session login into the lockout page.
    "axes.middleware.AxesMiddleware",
]

# django-axes first: it refuses a locked-out login before the password is even checked.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]

# Debian 12 ships GDAL 3.6, which cannot block file and network access from spatial reference
# strings. The API never parses a client's spatial reference or geometry text: points are built
# from validated lat/lng numbers with SRID 4326 fixed.
SILENCED_SYSTEM_CHECKS = ["gis.W001"]

ROOT_URLCONF = "backend.config.urls"
WSGI_APPLICATION = "backend.config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# PostgreSQL with PostGIS. ``postgis://user:password@host:port/name``.
DATABASES = {
    "default": env.db_url(
        "DATABASE_URL", default="postgis://parcels@127.0.0.1:55432/parcels", engine=None
    )
}
DATABASES["default"]["ENGINE"] = "django.contrib.gis.db.backends.postgis"
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DATABASES["default"].setdefault("OPTIONS", {})["connect_timeout"] = env.int(
    "DATABASE_CONNECT_TIMEOUT_S", default=5
)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env.str("REDIS_URL", default="redis://127.0.0.1:56379/0")

CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "TIMEOUT": 300,
    }
}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("fr", "Français")]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = ROOT_DIR / "staticfiles"
MEDIA_ROOT = env.path("MEDIA_ROOT", default=str(ROOT_DIR / ".local" / "media"))
MEDIA_URL = "media/"
# Private files: outside MEDIA_ROOT and never under a URL of their own; only views that check who
# is asking read them. Identity documents live here; delivery proof photos in PROOF_PHOTO_ROOT,
# read only through the API's authorised photo endpoint (backend/deliveries/storage.py).
PRIVATE_MEDIA_ROOT = env.path("PRIVATE_MEDIA_ROOT", default=str(ROOT_DIR / ".local" / "private"))
PROOF_PHOTO_ROOT = env.path(
    "PROOF_PHOTO_ROOT", default=str(ROOT_DIR / ".local" / "private" / "proofs")
)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
    "proofs": {
        "BACKEND": "backend.deliveries.storage.PrivateFileSystemStorage",
        "OPTIONS": {"location": str(PROOF_PHOTO_ROOT)},
    },
}

REST_FRAMEWORK = {
    "DEFAULT_SCHEMA_CLASS": "backend.core.schema.ApiAutoSchema",
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework_simplejwt.authentication.JWTAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    # JSON bodies only, as the mobile apps send them; the views that take an upload (the
    # delivery photo, the identity document) accept multipart/form-data, and nothing else.
    "DEFAULT_PARSER_CLASSES": ["backend.core.parsers.JSONParser"],
    "DEFAULT_PAGINATION_CLASS": "backend.core.pagination.NewestFirstPagination",
    "EXCEPTION_HANDLER": "backend.core.errors.exception_handler",
    "DEFAULT_THROTTLE_CLASSES": [
        "backend.core.throttling.AnonThrottle",
        "backend.core.throttling.UserThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "anon": env.str("THROTTLE_ANON", default="60/min"),
        "user": env.str("THROTTLE_USER", default="600/min"),
        # Login and registration, per client address; these fail closed without Redis.
        "auth": env.str("THROTTLE_AUTH", default="30/min"),
    },
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}

# Where the API is served, for the schema's ``servers`` (generated clients' default base URL):
# comma-separated origins, the first being the default (prod: https:// on the first allowed host).
API_SERVERS: list[str] = env.list(
    "API_SERVERS",
    default=[f"http://{env.str('HOST', default='127.0.0.1')}:{env.int('PORT', default=8000)}"],
)
SPECTACULAR_SETTINGS = {
    "TITLE": "Parcel delivery API",
    "DESCRIPTION": (
        "Customers post delivery requests for goods bought in a store; people leaving the "
        "store anyway get offers for parcels on their way home, respond, and deliver them."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # Operation ids (the generated clients' method names) without the version prefix:
    # ``offers_respond_create``, not ``api_v1_offers_respond_create``.
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    # Swagger UI is served by the application itself: no CDN at run time.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "SERVERS": [{"url": url.rstrip("/")} for url in API_SERVERS],
    # The contract the generated clients rely on (backend/core/schema.py), after the enums are
    # named.
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "backend.core.schema.postprocess_contract",
    ],
    "ENUM_NAME_OVERRIDES": {
        # The discriminator of a delivery request's shapes (deliveries.serializers).
        "CustomerAudienceEnum": ["customer"],
        "DriverAudienceEnum": ["driver"],
        "OfferedAudienceEnum": ["offered"],
        "DeskAudienceEnum": ["desk"],
        "ManagerAudienceEnum": ["manager"],
        "RequestStateEnum": "backend.deliveries.models.RequestState",
        "OfferStateEnum": "backend.matching.models.OfferState",
        "TripStateEnum": "backend.matching.models.Trip.State",
        "DriverStatusEnum": "backend.accounts.models.DriverStatus",
        "HealthStatusEnum": "backend.core.serializers.HEALTH_STATUS",
        "NotificationEventEnum": "notifications.events.Event",
    },
}

LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
LOG_FORMAT = env.str("LOG_FORMAT", default="json")  # "json" for machines, "text" for people
LOGGING: dict[str, Any] = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
        },
        "text": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT},
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django": {"handlers": ["console"], "level": LOG_LEVEL, "propagate": False},
        "celery": {"handlers": ["console"], "level": LOG_LEVEL, "propagate": False},
    },
}

SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": timedelta(minutes=env.int("JWT_ACCESS_MINUTES", default=15)),
    "REFRESH_TOKEN_LIFETIME": timedelta(days=env.int("JWT_REFRESH_DAYS", default=30)),
    "ROTATE_REFRESH_TOKENS": True,
    "BLACKLIST_AFTER_ROTATION": True,
    "UPDATE_LAST_LOGIN": True,
}

# --- E-mail: registration, password reset -----------------------------------------------------
# Django's e-mail backend: SMTP in prod (EMAIL_HOST...), the console in dev, memory in tests.
EMAIL_BACKEND = env.str("EMAIL_BACKEND", default="django.core.mail.backends.smtp.EmailBackend")
EMAIL_HOST = env.str("EMAIL_HOST", default="localhost")
EMAIL_PORT = env.int("EMAIL_PORT", default=25)
EMAIL_HOST_USER = env.str("EMAIL_HOST_USER", default="")
EMAIL_HOST_PASSWORD = env.str("EMAIL_HOST_PASSWORD", default="")
EMAIL_USE_TLS = env.bool("EMAIL_USE_TLS", default=False)
EMAIL_USE_SSL = env.bool("EMAIL_USE_SSL", default=False)
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=10)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Parcels <no-reply@localhost>")
# The link of the password reset mail: the app's deep link (or a web page), with {uid} and
# {token}, which the app sends to POST /api/v1/auth/password/reset/confirm/.
PASSWORD_RESET_LINK = env.str(
    "PASSWORD_RESET_LINK", default="parcels://password-reset?uid={uid}&token={token}"
)
# How long a reset link works, seconds (Django's default is three days).
PASSWORD_RESET_TIMEOUT = env.int("PASSWORD_RESET_TIMEOUT", default=3600)

# Demo accounts (``seed_demo``: a superuser and accounts with a published password) load only
# with DEBUG on or this set; production refuses both.
DEMO_DATA_ALLOWED = env.bool("DEMO_DATA_ALLOWED", default=False)
# The demo region ``seed_demo`` loads and ``simulate`` plays: a region file of fixtures/demo/ by
# name, or a path to one (``fixtures/demo/build_region.py`` makes one from any extract).
# ``monaco``: Monaco and its French neighbours on the bundled road extract, on road times;
# ``lyon``: around Lyon, on the straight-line model (no road extract of Lyon is bundled).
DEMO_REGION = env.str("DEMO_REGION", default="monaco")

# --- Trust and safety: the client's address, login lockout, request sizes ----------------------
# How many reverse proxies in front of the application append to X-Forwarded-For. 0 (the
# default): the header is ignored and the client is the connection's address, since any client
# can write the header. With N, the client is the N-th address from the right, the one the
# outermost trusted proxy saw. Rate limits and login lockouts both take it from
# backend.core.client_ip.client_ip; DRF's own setting is kept in step.
NUM_PROXIES = env.int("NUM_PROXIES", default=0)
REST_FRAMEWORK["NUM_PROXIES"] = NUM_PROXIES
# Login lockout (django-axes, recorded in PostgreSQL so that it holds without Redis): after this
# many failed logins an account, or a client address, is locked out of every login (API token,
# /admin/, /manager/) until LOGIN_LOCKOUT_MINUTES pass without a further failure. A shared
# address (a store's Wi-Fi, a carrier's NAT) gets a higher limit than one account.
LOGIN_FAILURE_LIMIT = env.int("LOGIN_FAILURE_LIMIT", default=10)
LOGIN_FAILURE_LIMIT_PER_IP = env.int("LOGIN_FAILURE_LIMIT_PER_IP", default=50)
LOGIN_LOCKOUT_MINUTES = env.int("LOGIN_LOCKOUT_MINUTES", default=15)
AXES_HANDLER = "backend.accounts.lockout.LoginLockoutHandler"
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_FAILURE_LIMIT = LOGIN_FAILURE_LIMIT  # per account; the handler applies the per-address one
AXES_COOLOFF_TIME = timedelta(minutes=LOGIN_LOCKOUT_MINUTES)
AXES_CLIENT_IP_CALLABLE = "backend.core.client_ip.client_ip"
AXES_USERNAME_CALLABLE = "backend.accounts.lockout.login_username"
AXES_LOCKOUT_CALLABLE = "backend.accounts.lockout.lockout_response"
AXES_VERBOSE = False
# Failures are kept for the lockout; successful logins are not logged (no address history).
AXES_DISABLE_ACCESS_LOG = True
# Request bodies: at most REQUEST_BODY_MAX_BYTES (JSON, forms), checked on Content-Length before
# the body is read (413). A view that takes an upload declares the setting that bounds its file;
# the proof photo of POST /delivery-requests/{id}/deliver/ is bounded by PROOF_PHOTO_MAX_BYTES.
REQUEST_BODY_MAX_BYTES = env.int("REQUEST_BODY_MAX_BYTES", default=1024 * 1024)
PROOF_PHOTO_MAX_BYTES = env.int("PROOF_PHOTO_MAX_BYTES", default=8 * 1024 * 1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = REQUEST_BODY_MAX_BYTES
DATA_UPLOAD_MAX_NUMBER_FILES = 10

# Product rules that operations may tune.
EARNINGS_YEARLY_CAP_EUR = Decimal(env.str("EARNINGS_YEARLY_CAP_EUR", default="3000"))
CODE_MAX_ATTEMPTS = env.int("CODE_MAX_ATTEMPTS", default=5)
# How a shopper's identity is checked before they may drive: the built-in manual review keeps
# the submitted document privately for ops to look at in the admin; a provider's SDK would be
# another class with the same ``submit``.
IDENTITY_CHECK_BACKEND = env.str(
    "IDENTITY_CHECK_BACKEND", default="backend.accounts.identity.ManualReview"
)
IDENTITY_DOCUMENT_MAX_BYTES = env.int("IDENTITY_DOCUMENT_MAX_BYTES", default=10 * 1024 * 1024)
# The largest delivery photo upload accepted, the whole request body (413 above it, refused from
# the Content-Length before the body is read).
PROOF_PHOTO_MAX_BYTES = env.int("PROOF_PHOTO_MAX_BYTES", default=8 * 1024 * 1024)

# --- Matching (backend/matching/): candidate trips, offers, batch re-optimisation -------------
# Travel times for every detour, offer, plan and ETA (backend/core/travel.py):
#   osrm       OSRM on roads, in process, on the dataset at OSRM_DATA (set-up prepares the
#              bundled extract: python -m routing.roads prepare EXTRACT.osm.pbf DIR);
#   osrm-http  an osrm-routed service at OSRM_URL (production: the compose `osrm` service);
#   haversine  straight line × ROUTING_CIRCUITY at ROUTING_SPEED_KMH, everywhere.
# With a road engine, the straight-line model is the fallback for any call the engine cannot
# answer; what it produced is marked estimated and /healthz reports the engine degraded.
TRAVEL_ENGINE = env.str("TRAVEL_ENGINE", default="haversine")
if TRAVEL_ENGINE not in ("osrm", "osrm-http", "haversine"):
    raise ImproperlyConfigured("TRAVEL_ENGINE must be osrm, osrm-http or haversine")
OSRM_DATA = env.str("OSRM_DATA", default="")
OSRM_URL = env.str("OSRM_URL", default="")
OSRM_TIMEOUT_S = env.float("OSRM_TIMEOUT_S", default=2.0)
# The network's top speed for osrm-http (the in-process engine reads it from its dataset); the
# product's car profile never exceeds 130 km/h, so that default is always a valid bound.
OSRM_TOP_SPEED_KMH = env.float("OSRM_TOP_SPEED_KMH", default=130.0)
# A drop-off or destination farther than this from any road is refused (400).
ROAD_MAX_SNAP_M = env.float("ROAD_MAX_SNAP_M", default=250.0)
ROUTING_SPEED_KMH = env.float("ROUTING_SPEED_KMH", default=30.0)
ROUTING_CIRCUITY = env.float("ROUTING_CIRCUITY", default=1.3)
DELIVERY_SERVICE_S = env.int("DELIVERY_SERVICE_S", default=120)
# Batch re-optimisation (every few minutes per store).
BATCH_INTERVAL_S = env.int("BATCH_INTERVAL_S", default=300)
BATCH_TIME_LIMIT_S = env.float("BATCH_TIME_LIMIT_S", default=2.0)
# Stop the search after this many improving solutions instead of by the clock (then the result
# does not depend on the machine's speed: the simulation uses it to replay exactly).
BATCH_SOLUTION_LIMIT = env.int("BATCH_SOLUTION_LIMIT", default=0) or None
# Unanswered for this long, a request's fee goes up one step (within the store's maximum).
FEE_RAISE_AFTER_S = env.int("FEE_RAISE_AFTER_S", default=900)
FEE_RAISE_STEP_EUR = Decimal(env.str("FEE_RAISE_STEP_EUR", default="1.00"))
# Open this long after posting (or this close to its window's end), a request goes to the vans.
VAN_CUTOFF_S = env.int("VAN_CUTOFF_S", default=1800)
# What a metre driven by a van costs against a metre of a driver's detour, and its fixed cost in
# metres of detour: the vans take what the crowd cannot, not what it can.
VAN_COST_PER_M = env.float("VAN_COST_PER_M", default=2.0)
VAN_FIXED_COST_M = env.float("VAN_FIXED_COST_M", default=5000.0)
# Leaving a request unserved costs this many metres of detour in the optimisation.
UNSERVED_PENALTY_M = env.float("UNSERVED_PENALTY_M", default=100_000.0)

# --- Simulation (backend/simulation/) ---------------------------------------------------------
# The simulation's stepped clock: the Redis key it lives under, set only for a simulation run
# and its worker (see backend/core/clock.py). Never in production.
SIMULATION_CLOCK = env.str("SIMULATION_CLOCK", default="")

# --- Notifications (notifications/): push through FCM, inbox, outbox --------------------------
# FCM is used when a service account file is given (FCM_CREDENTIALS_FILE, or Google's usual
# GOOGLE_APPLICATION_CREDENTIALS); otherwise each push is only logged, so the product runs offline.
FCM_CREDENTIALS_FILE = env.str(
    "FCM_CREDENTIALS_FILE", default=env.str("GOOGLE_APPLICATION_CREDENTIALS", default="")
)
NOTIFICATIONS_BACKEND = env.str(
    "NOTIFICATIONS_BACKEND",
    default="notifications.backends.FcmBackend"
    if FCM_CREDENTIALS_FILE
    else "notifications.backends.LoggingBackend",
)
NOTIFICATIONS_MAX_ATTEMPTS = env.int("NOTIFICATIONS_MAX_ATTEMPTS", default=8)
NOTIFICATIONS_RETRY_BASE_S = env.int("NOTIFICATIONS_RETRY_BASE_S", default=30)
NOTIFICATIONS_RETRY_MAX_S = env.int("NOTIFICATIONS_RETRY_MAX_S", default=3600)
NOTIFICATIONS_SEND_LEASE_S = env.int("NOTIFICATIONS_SEND_LEASE_S", default=300)
NOTIFICATIONS_SWEEP_GRACE_S = env.int("NOTIFICATIONS_SWEEP_GRACE_S", default=120)
NOTIFICATIONS_SWEEP_LIMIT = env.int("NOTIFICATIONS_SWEEP_LIMIT", default=5000)
NOTIFICATIONS_OUTBOX_RETENTION_DAYS = env.int("NOTIFICATIONS_OUTBOX_RETENTION_DAYS", default=30)
# A user's devices: registering one more drops the least recently seen.
NOTIFICATIONS_MAX_DEVICES_PER_USER = env.int("NOTIFICATIONS_MAX_DEVICES_PER_USER", default=10)

# --- Analytics (backend/analytics/): store KPIs, rollups, the manager dashboard ----------------
# CO2 per vehicle-km, kg CO2e (well-to-wheel not included). Defaults are orders of magnitude from
# the UK Government GHG Conversion Factors for Company Reporting (DESNZ/DEFRA), 2023 edition:
# "Vans, average (up to 3.5 t), diesel" ≈ 0.25 and "Cars, average car, unknown fuel" ≈ 0.17,
# rounded to two digits. Set your own (e.g. from ADEME Base Carbone) for reporting.
CO2_VAN_KG_PER_KM = env.float("CO2_VAN_KG_PER_KM", default=0.25)
CO2_CAR_KG_PER_KM = env.float("CO2_CAR_KG_PER_KM", default=0.17)
# Reference lines from a store pilot of this model, drawn on the dashboard.
ANALYTICS_REFERENCE_RESPONSE_RATE = env.float("ANALYTICS_REFERENCE_RESPONSE_RATE", default=0.70)
ANALYTICS_REFERENCE_RESPONSES_PER_POSTING = env.float(
    "ANALYTICS_REFERENCE_RESPONSES_PER_POSTING", default=2.8
)
# An open request with no response this long after posting "needs attention".
ANALYTICS_ATTENTION_AFTER_S = env.int("ANALYTICS_ATTENTION_AFTER_S", default=600)
# Every this many seconds, beat recomputes this many store-local days back from today (today
# included).
ANALYTICS_ROLLUP_INTERVAL_S = env.int("ANALYTICS_ROLLUP_INTERVAL_S", default=600)
ANALYTICS_ROLLUP_DAYS = env.int("ANALYTICS_ROLLUP_DAYS", default=2)
# The dashboard map shows at most this many drop-off points (the latest of the period).
ANALYTICS_MAP_MAX_POINTS = env.int("ANALYTICS_MAP_MAX_POINTS", default=2000)
# The base map under the drop-offs (backend/analytics/basemap.py). The set-up makes vector tiles
# from MAP_EXTRACT (an .osm.pbf: the roads' extract, ROAD_EXTRACT, by default the demo region's)
# into MAP_TILES_FILE, served by the app with range requests. MAP_TILES_URL, when set, is used
# instead: any tile server with the OpenMapTiles layer names (a .pmtiles URL, a {z}/{x}/{y}
# template or a TileJSON URL); its origin is added to the dashboard's Content-Security-Policy.
MAP_EXTRACT = env.path(
    "MAP_EXTRACT",
    default=env.str(
        "ROAD_EXTRACT", default=str(ROOT_DIR / "fixtures" / "osm" / "monaco-region.osm.pbf")
    ),
)
MAP_TILES_FILE = env.path(
    "MAP_TILES_FILE", default=str(ROOT_DIR / ".local" / "map" / "base.pmtiles")
)
MAP_TILES_URL = env.str("MAP_TILES_URL", default="")
# Road routes drawn at most (store to drop-off, for requests whose driver is on the way).
MAP_MAX_ROUTES = env.int("MAP_MAX_ROUTES", default=50)

# --- Celery: Redis as broker; the queues and routing are in backend/config/celery.py ----------
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=REDIS_URL)
CELERY_RESULT_BACKEND = env.str("CELERY_RESULT_BACKEND", default=REDIS_URL)
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_RESULT_EXPIRES = timedelta(hours=1)
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULE: dict[str, dict[str, object]] = {
    "matching-expire": {"task": "matching.expire", "schedule": 60.0},
    "matching-best-match": {"task": "matching.assign_due_best_matches", "schedule": 60.0},
    "matching-reoptimise": {"task": "matching.reoptimise_all", "schedule": float(BATCH_INTERVAL_S)},
    "matching-commute-trips": {"task": "matching.commute_trips", "schedule": 3600.0},
    "core-idempotency-cleanup": {"task": "core.idempotency_cleanup", "schedule": 3600.0},
    "notifications-sweep-outbox": {
        "task": "notifications.sweep_outbox",
        "schedule": 60.0,
        "options": {"expires": 55},
    },
    "analytics-rollup-recent": {
        "task": "analytics.rollup_recent",
        "schedule": float(ANALYTICS_ROLLUP_INTERVAL_S),
        "options": {"expires": 540},
    },
}
