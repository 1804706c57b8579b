"""The one settings module. Everything that differs between machines comes from the environment.

Defaults are the secure ones: DEBUG off, no built-in SECRET_KEY, HTTPS-only cookies, HSTS and
an SSL redirect. `make demo` and the test suite opt out explicitly through the environment.
"""

from __future__ import annotations

import os
import sys
from datetime import timedelta
from pathlib import Path

import dj_database_url
import orjson
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured

from .env import env_bool, env_float, env_int, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("ENCORE_VAR_DIR", str(BASE_DIR / "var")) or BASE_DIR / "var")

DEBUG = env_bool("DEBUG", False)

SECRET_KEY = env_str("SECRET_KEY") or ""
if not SECRET_KEY:
    raise ImproperlyConfigured(
        "SECRET_KEY is not set. Generate one with "
        "`python -c 'import secrets; print(secrets.token_urlsafe(50))'`."
    )

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    # API tokens stored hashed, with an expiry (entertainment/accounts/tokens.py).
    "knox",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "axes",
    "csp",
    "entertainment.accounts",
    "entertainment.catalogue",
    "entertainment.activity",
    "entertainment.mediaservers",
    "entertainment.scrobbling",
    "entertainment.personal_imports",
    "recommender",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    # A body larger than its view takes is a 413 before anything reads it (the CSRF check
    # below reads a form body).
    "entertainment.body_limits.RequestBodyLimitMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    # Many failures on one username from anywhere: log-in attempts on it spaced out.
    "entertainment.throttling.LoginSlowdownMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    # The database unreachable: a 503 with Retry-After instead of a 500. It only has a
    # process_exception (no other middleware here has one), so any place works; its answer
    # passes through every middleware's response side, headers included.
    "entertainment.unavailable.DatabaseUnavailableMiddleware",
    # Last, as django-axes asks: it turns a lockout raised by the backend into a response.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "entertainment.urls"
WSGI_APPLICATION = "entertainment.wsgi.application"
ASGI_APPLICATION = "entertainment.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "entertainment.accounts.context_processors.privacy",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------------
# The embedded default is an SQLite file under var/; production sets DATABASE_URL.
DATABASE_URL = env_str("DATABASE_URL", f"sqlite:///{VAR_DIR / 'encore.sqlite3'}") or ""
try:
    DATABASES = {
        "default": dj_database_url.parse(
            DATABASE_URL, conn_max_age=env_int("DB_CONN_MAX_AGE", 60, minimum=0)
        )
    }
except ValueError as exc:
    raise ImproperlyConfigured(f"DATABASE_URL is not a valid database URL: {exc}") from None
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Several processes (web, worker, beat) share the file: wait for locks instead of failing.
    DATABASES["default"]["OPTIONS"] = {"timeout": 20, "transaction_mode": "IMMEDIATE"}
    DATABASES["default"]["CONN_MAX_AGE"] = 0
else:
    # A pooled connection that died with a restart is noticed and replaced, not used.
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    # A server that hangs rather than refuses (a partition, a full disk) costs a request this
    # long to connect, then a 503, instead of the whole gunicorn worker timeout.
    DATABASES["default"]["OPTIONS"] = {
        "connect_timeout": env_int("DB_CONNECT_TIMEOUT_S", 3, minimum=1)
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis: cache, broker, results ----------------------------------------------------------
REDIS_URL = env_str("REDIS_URL")
if REDIS_URL and not REDIS_URL.startswith(("redis://", "rediss://", "unix://")):
    raise ImproperlyConfigured(f"REDIS_URL must be a redis:// URL, got {REDIS_URL!r}")

if REDIS_URL:
    CACHES = {
        "default": {
            # Django's Redis cache, failing fast for a moment after a failure (see cache.py).
            "BACKEND": "entertainment.cache.FailFastRedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": env_str("CACHE_KEY_PREFIX", "encore") or "encore",
            "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
        }
    }
else:
    # Shared by every local process, unlike the per-process memory cache.
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(VAR_DIR / "cache"),
        }
    }

CELERY_BROKER_DIR = VAR_DIR / "broker"
if REDIS_URL:
    CELERY_BROKER_URL = REDIS_URL
    # A message a worker took but never acknowledged (the worker died) is delivered again after
    # this long; longer than the longest training run, which acknowledges only when done.
    CELERY_BROKER_TRANSPORT_OPTIONS: dict[str, object] = {
        "visibility_timeout": env_int("CELERY_VISIBILITY_TIMEOUT_S", 4 * 3600, minimum=1),
        # Without them a send to a Redis that hangs (rather than refuses) waits forever, and
        # with it the web request that sends.
        "socket_timeout": 1.0,
        "socket_connect_timeout": 0.5,
    }
    CELERY_RESULT_BACKEND: str | None = REDIS_URL
else:
    # A broker that needs no server: messages are files under var/broker, read by a real
    # worker process. Good for one machine; production uses Redis.
    CELERY_BROKER_URL = "filesystem://"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(CELERY_BROKER_DIR / "queue"),
        "data_folder_out": str(CELERY_BROKER_DIR / "queue"),
        "control_folder": str(CELERY_BROKER_DIR / "control"),
        "processed_folder": str(CELERY_BROKER_DIR / "processed"),
        "store_processed": False,
    }
    CELERY_RESULT_BACKEND = None
    # kombu's filesystem transport expects its folders to exist (web, worker and beat alike).
    for _folder in ("queue", "control", "processed"):
        (CELERY_BROKER_DIR / _folder).mkdir(parents=True, exist_ok=True)

CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_TIMEZONE = "UTC"
CELERY_TASK_DEFAULT_QUEUE = "cpu"
CELERY_TASK_ROUTES = {
    "recommender.train": {"queue": "gpu"},
    "*": {"queue": "cpu"},
}
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Nothing reads task results (runs and exports keep their state in the database). Stored
# results would cost each send a subscription to the task's result channel in Redis, never
# consumed by a web process, and retried for some 20 s when Redis is down.
CELERY_TASK_IGNORE_RESULT = True
# One retry is enough for a connection Redis closed; each retry of a send to a Redis that hangs
# waits a socket timeout more, inside a web request.
CELERY_TASK_PUBLISH_RETRY_POLICY = {
    "max_retries": 1,
    "interval_start": 0,
    "interval_step": 0.2,
    "interval_max": 0.2,
}
CELERY_IMPORTS = ["entertainment.health", "recommender.playlists"]
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")

# Beat: each entry overridable by environment; `expires` so a backlog never runs stale work.
CELERY_BEAT_SCHEDULE = {
    # Jellyfin/Emby connections: library, accounts, history, then playlists written back.
    "sync-media-servers": {
        "task": "mediaservers.sync_all",
        "schedule": env_float("MEDIASERVER_SYNC_INTERVAL_S", 3600.0),
        "options": {"expires": 1800},
    },
    # /healthz reports a queue's workers as seen when one answered this within the window.
    **{
        f"worker-heartbeat-{queue}": {
            "task": "entertainment.worker_heartbeat",
            "schedule": env_float("HEALTH_HEARTBEAT_INTERVAL_S", 60.0),
            "args": (queue,),
            "options": {"queue": queue, "expires": 50},
        }
        for queue in ("cpu", "gpu")
    },
    "nightly-retrain": {
        "task": "recommender.train_all",
        "schedule": crontab(
            minute=env_str("RETRAIN_CRON_MINUTE", "0") or "0",
            hour=env_str("RETRAIN_CRON_HOUR", "3") or "3",
        ),
        "kwargs": {"trigger": "schedule"},
        "options": {"expires": env_int("RETRAIN_EXPIRES_S", 6 * 3600, minimum=60)},
    },
    "purge-expired-exports": {
        "task": "accounts.purge_expired_exports",
        "schedule": 3600.0,
        "options": {"expires": 1800},
    },
    # Django never deletes expired sessions by itself (`clearsessions` is left to a cron); each
    # holds a person's key and what they played while paused.
    "purge-expired-sessions": {
        "task": "accounts.purge_expired_sessions",
        "schedule": env_float("SESSION_PURGE_INTERVAL_S", 3600.0),
        "options": {"expires": 1800},
    },
    "retrain-after-erasure": {
        "task": "recommender.retrain_after_erasure",
        "schedule": env_float("ERASURE_CHECK_INTERVAL_S", 3600.0),
        "options": {"expires": 1800},
    },
    "fail-stale-training-runs": {
        "task": "recommender.fail_stale_runs",
        "schedule": 600.0,
        "options": {"expires": 300},
    },
    "hourly-refresh": {
        "task": "recommender.refresh_recommendations",
        "schedule": env_float("REFRESH_INTERVAL_S", 3600.0),
        "options": {"expires": env_int("REFRESH_EXPIRES_S", 1800, minimum=60)},
    },
    # Impressions (issue 14): buffered by requests, written in batches, expired, counted daily.
    "flush-impressions": {
        "task": "activity.flush_impressions",
        "schedule": env_float("IMPRESSION_FLUSH_INTERVAL_S", 60.0),
        "options": {"expires": 55},
    },
    "expire-impressions": {
        "task": "activity.expire_impressions",
        "schedule": env_float("IMPRESSION_EXPIRY_INTERVAL_S", 3600.0),
        "options": {"expires": 1800},
    },
    "aggregate-online-metrics": {
        "task": "recommender.aggregate_online_metrics",
        "schedule": env_float("ONLINE_METRICS_INTERVAL_S", 900.0),
        "options": {"expires": 600},
    },
}

# --- Auth -----------------------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
# pytest sets PYTEST_VERSION for its run, and the processes a test starts inherit it.
RUNNING_TESTS = "PYTEST_VERSION" in os.environ or sys.argv[1:2] == ["test"]
if env_bool("FAST_PASSWORD_HASHER", False):
    # Tests only: argon2 is deliberately slow, and MD5 is no password hash at all.
    if not RUNNING_TESTS:
        raise ImproperlyConfigured(
            "FAST_PASSWORD_HASHER stores passwords as MD5 and is for the test suite only: unset it."
        )
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "home"

# Client addresses, for rate limits and the lockout alike (entertainment/client_ip.py): how
# many proxies of ours append to X-Forwarded-For. 0 ignores the header (anyone can write it);
# behind the recommended TLS proxy, 1. PROXY_COUNT is this setting's former name.
BEHIND_TLS_PROXY = env_bool("BEHIND_TLS_PROXY", False)
NUM_PROXIES = env_int(
    "NUM_PROXIES", env_int("PROXY_COUNT", 1 if BEHIND_TLS_PROXY else 0, minimum=0), minimum=0
)

# Brute-force protection: lock a username+address pair after repeated failures, so a stranger
# cannot lock anyone else out...
AXES_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 5, minimum=1)
AXES_COOLOFF_TIME = env_float("LOGIN_COOLOFF_HOURS", 0.25)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "accounts/locked_out.html"
AXES_CLIENT_IP_CALLABLE = "entertainment.client_ip.client_ip"
# ...and slow down many addresses guessing one username: past this many failures on it within
# the cool-off, one attempt on it every LOGIN_USERNAME_INTERVAL_S (entertainment/throttling.py).
LOGIN_USERNAME_SLOW_AFTER = env_int("LOGIN_USERNAME_SLOW_AFTER", 20, minimum=1)
LOGIN_USERNAME_INTERVAL_S = env_int("LOGIN_USERNAME_INTERVAL_S", 10, minimum=1)

# API tokens (django-rest-knox): hashed, expiring this long after they are issued.
API_TOKEN_TTL_H = env_float("API_TOKEN_TTL_H", 720.0)
API_TOKEN_MAX_PER_USER = env_int("API_TOKEN_MAX_PER_USER", 10, minimum=1)
REST_KNOX = {"TOKEN_TTL": timedelta(hours=API_TOKEN_TTL_H), "AUTH_HEADER_PREFIX": "Token"}

# --- Security -------------------------------------------------------------------------------
# On by default; BEHIND_TLS_PROXY trusts X-Forwarded-Proto, and each switch can be turned off.
if BEHIND_TLS_PROXY:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not DEBUG)
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", not DEBUG)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", not DEBUG)
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if DEBUG else 31536000, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", True)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"

CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "style-src": ["'self'"],
        "script-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
    }
}

# --- Files ----------------------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(VAR_DIR / "static")) or VAR_DIR / "static")
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(VAR_DIR / "media")) or VAR_DIR / "media")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}
# Personal data exports: never under MEDIA_ROOT, which is public.
EXPORT_ROOT = Path(env_str("EXPORT_ROOT", str(VAR_DIR / "exports")) or VAR_DIR / "exports")
EXPORT_TTL_H = env_float("EXPORT_TTL_H", 48.0)
# A file under EXPORT_ROOT that no export row owns is deleted by the hourly purge once this old
# (younger ones may belong to a build about to record its file).
EXPORT_ORPHAN_GRACE_S = env_float("EXPORT_ORPHAN_GRACE_S", 3600.0)
# Media is served by the app too (a self-hosted service with no separate file server); see urls.
SERVE_MEDIA = env_bool("SERVE_MEDIA", True)

# Artwork upload limits: bytes on the wire and decoded pixels (decompression bombs).
ARTWORK_MAX_BYTES = env_int("ARTWORK_MAX_BYTES", 5 * 1024 * 1024, minimum=1024)
ARTWORK_MAX_PIXELS = env_int("ARTWORK_MAX_PIXELS", 25_000_000, minimum=1024)
# Request bodies (entertainment/body_limits.py): what every view reads at most, the views that
# need more or much less (by URL name), and the cap over all of them (bulk ingestion's).
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("DATA_UPLOAD_MAX_MEMORY_SIZE", 20 * 1024 * 1024, minimum=1)
REQUEST_BODY_MAX_BYTES = env_int("REQUEST_BODY_MAX_BYTES", 64 * 1024, minimum=1024)
_ARTWORK_FORM_BYTES = ARTWORK_MAX_BYTES + 64 * 1024  # the file and the form around it
REQUEST_BODY_LIMITS = {
    "events-bulk": DATA_UPLOAD_MAX_MEMORY_SIZE,
    # ListenBrainz's own limit (10,240,000 bytes) is checked by the view, with its 400.
    "scrobbling:listenbrainz-submit-listens": DATA_UPLOAD_MAX_MEMORY_SIZE,
    # Plex attaches a poster to some events.
    "scrobbling:plex-webhook": 8 * 1024 * 1024,
    "item-artwork": _ARTWORK_FORM_BYTES,
    # Personal exports (Letterboxd, IMDb, Steam, Playnite) uploaded to be imported.
    "personal-imports": DATA_UPLOAD_MAX_MEMORY_SIZE,
    "personal_imports:imports": DATA_UPLOAD_MAX_MEMORY_SIZE,
    "admin:catalogue_item_add": _ARTWORK_FORM_BYTES,
    "admin:catalogue_item_change": _ARTWORK_FORM_BYTES,
    # Anonymous: a username and a password; at most 200 item ids.
    "auth-token": 8 * 1024,
    "session-next": 16 * 1024,
}

# --- REST API -------------------------------------------------------------------------------
API_PAGE_SIZE = env_int("API_PAGE_SIZE", 20, minimum=1)
API_MAX_PAGE_SIZE = env_int("API_MAX_PAGE_SIZE", 100, minimum=1)
BULK_INGEST_MAX_EVENTS = env_int("BULK_INGEST_MAX_EVENTS", 10_000, minimum=1)
# Online measurement (issue 14): a click, play, rating of 4+ or review counts for the latest
# impression of its item within this many days; raw impressions and clicks are kept this long
# (the daily aggregates stay); a buffer this long is flushed without waiting for the beat.
OUTCOME_WINDOW_DAYS = env_int("OUTCOME_WINDOW_DAYS", 7, minimum=1)
IMPRESSION_RETENTION_DAYS = env_int("IMPRESSION_RETENTION_DAYS", 30, minimum=1)
IMPRESSION_FLUSH_AT = env_int("IMPRESSION_FLUSH_AT", 2000, minimum=1)
# How long a web process gathers records before one push to the buffer (0: each request pushes;
# the tests' default, so they need no timer).
IMPRESSION_BATCH_S = env_float("IMPRESSION_BATCH_S", 0.0 if RUNNING_TESTS else 1.0)
# Off: nothing is recorded of what anyone is shown (bench/impressions.py compares the two).
RECORD_IMPRESSIONS = env_bool("RECORD_IMPRESSIONS", True)
# Where impressions wait for their batch without Redis (the embedded default).
IMPRESSION_SPOOL_DIR = Path(
    env_str("IMPRESSION_SPOOL_DIR", str(VAR_DIR / "impressions")) or VAR_DIR / "impressions"
)
REST_FRAMEWORK = {
    # orjson: JSON in a tenth of json.dumps's time, a tenth of a recommendations request's.
    # Integer keys (a list's field errors by index) as strings, as json.dumps writes them;
    # datetimes in UTC end in "Z", as DRF's fields write them.
    "DEFAULT_RENDERER_CLASSES": [
        "drf_orjson_renderer.renderers.ORJSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
    "ORJSON_RENDERER_OPTIONS": (orjson.OPT_NON_STR_KEYS, orjson.OPT_UTC_Z),
    # Token first: an anonymous request is then answered 401 with `WWW-Authenticate: Token`.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "entertainment.accounts.tokens.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticatedOrReadOnly"],
    "DEFAULT_PAGINATION_CLASS": "entertainment.pagination.CappedPageNumberPagination",
    # JSON only: no page posts a form to the API; views that take files name the multipart
    # parser themselves (an item's artwork).
    "DEFAULT_PARSER_CLASSES": ["entertainment.parsers.BoundedJSONParser"],
    # For anything asking DRF for a client address; the throttles use client_ip, same count.
    "NUM_PROXIES": NUM_PROXIES,
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "rest_framework.filters.SearchFilter",
        "rest_framework.filters.OrderingFilter",
    ],
    "DEFAULT_THROTTLE_CLASSES": [
        "entertainment.throttling.ResilientAnonRateThrottle",
        "entertainment.throttling.ResilientUserRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "anon": env_str("API_THROTTLE_ANON", "120/min"),
        "user": env_str("API_THROTTLE_USER", "1200/min"),
        "bulk": env_str("API_THROTTLE_BULK", "60/min"),
    },
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "entertainment.api_errors.json_exception_handler",
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Encore API",
    "DESCRIPTION": "Catalogue, activity and recommendations for films, music and games.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # Documents what every operation can answer (entertainment/schema.py).
    "DEFAULT_GENERATOR_CLASS": "entertainment.schema.SchemaGenerator",
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "entertainment.pagination.document_pagination_errors",
    ],
    # Several models have a "kind" with different choices: name each explicitly.
    "ENUM_NAME_OVERRIDES": {
        "ItemKindEnum": "entertainment.catalogue.models.Kind",
        "ModelKindEnum": "recommender.models.ModelKind",
        "ExperimentStatusEnum": "recommender.models.Experiment.Status",
        "PersonalImportStatusEnum": "entertainment.personal_imports.models.PersonalImport.Status",
        "UnmatchedRowStatusEnum": "entertainment.personal_imports.models.UnmatchedRow.Status",
    },
}

# --- Misc -----------------------------------------------------------------------------------
LANGUAGE_CODE = "en-gb"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
}

# Where snapshots and trained model directories live (shared by workers and web processes).
MODEL_DIR = Path(env_str("MODEL_DIR", str(VAR_DIR / "models")) or VAR_DIR / "models")
SNAPSHOT_DIR = Path(env_str("SNAPSHOT_DIR", str(VAR_DIR / "snapshots")) or VAR_DIR / "snapshots")
# /healthz: a queue without a worker seen for this long makes the site "degraded".
HEALTH_WORKER_SEEN_WITHIN_S = env_int("HEALTH_WORKER_SEEN_WITHIN_S", 300, minimum=10)
# Connection secrets (media server API keys) are encrypted under a key derived from this;
# set it on its own to rotate SECRET_KEY without entering them again (mediaservers/secrets.py).
SECRETS_KEY = env_str("SECRETS_KEY", "") or ""
SECRETS_OLD_KEYS = [k for k in (env_str("SECRETS_OLD_KEYS", "") or "").split(",") if k]
# `manage.py backup`: where backups go and how many of the newest are kept.
BACKUP_DIR = Path(env_str("BACKUP_DIR", str(VAR_DIR / "backups")) or VAR_DIR / "backups")
BACKUP_KEEP = env_int("BACKUP_KEEP", 7, minimum=1)

# --- Training -------------------------------------------------------------------------------
# A candidate model replaces the active one unless its main metric drops by more than this.
MODEL_ACTIVATION_TOLERANCE = env_float("MODEL_ACTIVATION_TOLERANCE", 0.0)
# A run whose worker has not reported for this long is considered lost.
TRAINING_STALE_AFTER_S = env_int("TRAINING_STALE_AFTER_S", 900, minimum=5)
TRAINING_MAX_ATTEMPTS = env_int("TRAINING_MAX_ATTEMPTS", 2, minimum=1)
TRAINING_TIME_LIMIT_S = env_int("TRAINING_TIME_LIMIT_S", 3 * 3600, minimum=60)
TRAINING_SEED = env_int("TRAINING_SEED", 0, minimum=0)
# After an erasure, the models holding that person's data are retrained within this window.
ERASURE_RETRAIN_WINDOW_H = env_float("ERASURE_RETRAIN_WINDOW_H", 24.0)
# Training snapshots hold people's rows: deleted when their run ends, at the latest this old.
SNAPSHOT_RETENTION_H = env_float("SNAPSHOT_RETENTION_H", 24.0)
RECOMMENDATIONS_PER_KIND = env_int("RECOMMENDATIONS_PER_KIND", 20, minimum=1)
REFRESH_BATCH_SIZE = env_int("REFRESH_BATCH_SIZE", 500, minimum=1)
# After an activation, the lists of people with an event in this many days are computed ahead.
WARM_UP_ACTIVE_DAYS = env_int("WARM_UP_ACTIVE_DAYS", 14, minimum=1)
# Aggregates shown to staff hide any group of fewer people than this (k-anonymity).
PRIVACY_MIN_GROUP_SIZE = env_int("PRIVACY_MIN_GROUP_SIZE", 5, minimum=1)
# An online experiment names a winner (whose version may then be activated, its online result
# overriding the offline metric) only with at least this many people in each arm.
EXPERIMENT_MIN_PEOPLE = env_int("EXPERIMENT_MIN_PEOPLE", 50, minimum=1)
