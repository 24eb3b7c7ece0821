"""Verity settings, all from the environment (see docs/operations.md).

SQLite in var/ is the embedded default; set DATABASE_URL=postgres://... for production.
"""

from __future__ import annotations

import os
from pathlib import Path

import dj_database_url
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("VERITY_VAR_DIR", BASE_DIR / "var"))


def env_bool(name: str, default: bool = False) -> bool:
    return os.environ.get(name, str(default)).strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = env_bool("DEBUG", False)
SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    # A development key is fine on a laptop; a deployment must set its own.
    SECRET_KEY = "insecure-development-key-set-SECRET_KEY-in-production"
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost,[::1],testserver")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")
SITE_URL = os.environ.get("SITE_URL", "http://127.0.0.1:8000").rstrip("/")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    "ninja",  # serves the API docs' Swagger UI from our own static files, not a CDN
    "verity.core",
    "verity.accounts",
    "verity.knowledge",
    "verity.search",
    "verity.learning",
    "verity.analytics",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "verity.accounts.middleware.UserLanguageMiddleware",
    "verity.accounts.middleware.AccessCacheMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "verity" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
                "verity.core.context_processors.navigation",
            ],
        },
    }
]

DEFAULT_SQLITE_URL = f"sqlite:///{VAR_DIR / 'verity.sqlite3'}"
DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL", DEFAULT_SQLITE_URL), conn_max_age=600
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets readers run while the worker writes; IMMEDIATE avoids "database is locked"
    # upgrades from read to write transactions under concurrent writers.
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": (
            "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=20000;"
        ),
    }
    DATABASES["default"]["CONN_MAX_AGE"] = 600
    if "TEST" not in DATABASES["default"]:
        DATABASES["default"]["TEST"] = {}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = ["django.contrib.auth.backends.ModelBackend"]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

CACHES = {
    # The database cache is shared by every app server, so login throttling holds
    # across gunicorn workers without adding Redis to the install.
    "default": {
        "BACKEND": "django.core.cache.backends.db.DatabaseCache",
        "LOCATION": "verity_cache",
    }
}

LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("ru", _("Russian"))]
LOCALE_PATHS = [BASE_DIR / "verity" / "locale"]
TIME_ZONE = os.environ.get("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT", VAR_DIR / "static"))
STATICFILES_DIRS = [BASE_DIR / "verity" / "static"]
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
WHITENOISE_USE_FINDERS = DEBUG

EMAIL_BACKEND = os.environ.get(
    "EMAIL_BACKEND",
    "django.core.mail.backends.smtp.EmailBackend"
    if os.environ.get("EMAIL_HOST")
    else "django.core.mail.backends.console.EmailBackend",
)
EMAIL_HOST = os.environ.get("EMAIL_HOST", "localhost")
EMAIL_PORT = int(os.environ.get("EMAIL_PORT", "25"))
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS")
EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL")
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "Verity <verity@localhost>")

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = env_bool("SECURE_COOKIES")
CSRF_COOKIE_SECURE = env_bool("SECURE_COOKIES")
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
if env_bool("BEHIND_HTTPS_PROXY"):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# Verity's own knobs.
VERITY_LOGIN_RATE = os.environ.get("VERITY_LOGIN_RATE", "10/5m")  # attempts per email+IP
VERITY_SEARCH_BACKEND = os.environ.get("VERITY_SEARCH_BACKEND", "")  # "" = by database vendor
# Semantic matching with the bundled multilingual model; off = lexical search only.
VERITY_SEARCH_EMBEDDINGS = env_bool("VERITY_SEARCH_EMBEDDINGS", True)
# A copy of the full-text index in each server process's memory ranks searches in a few
# milliseconds (see docs/search.md, "The index in memory"); off = the database ranks them.
VERITY_SEARCH_MEMORY_INDEX = env_bool("VERITY_SEARCH_MEMORY_INDEX", True)
VERITY_EMBEDDING_THREADS = int(os.environ.get("VERITY_EMBEDDING_THREADS", "1"))
# Searches are kept this long for the knowledge-gap reports, then deleted.
VERITY_SEARCH_EVENT_DAYS = int(os.environ.get("VERITY_SEARCH_EVENT_DAYS", "365"))
VERITY_PAGE_SIZE = 50
VERITY_WORKER_POLL_SECONDS = float(os.environ.get("VERITY_WORKER_POLL_SECONDS", "2"))
VERITY_RUN_JOBS_INLINE = env_bool("VERITY_RUN_JOBS_INLINE")
# Learning: reminder this many days before an enrolment is due; NPS hidden below this n.
VERITY_LEARNING_REMINDER_DAYS = int(os.environ.get("VERITY_LEARNING_REMINDER_DAYS", "3"))
VERITY_NPS_MIN_N = int(os.environ.get("VERITY_NPS_MIN_N", "5"))
# Analytics imports: the largest CSV the upload page takes (the CLI has no limit), and the
# largest JSON body the API takes, so a bulk import of 50,000 records fits in one request.
VERITY_IMPORT_MAX_UPLOAD_MB = int(os.environ.get("VERITY_IMPORT_MAX_UPLOAD_MB", "200"))
DATA_UPLOAD_MAX_MEMORY_SIZE = int(os.environ.get("VERITY_API_MAX_BODY_MB", "64")) * 1024 * 1024

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}
