"""Settings for the test suite: the production settings with static files served from the
source tree (no collectstatic manifest needed) and a fast password hasher."""

from config.settings import *  # noqa: F403
from config.settings import STATIC_ROOT, STORAGES

STORAGES = {
    **STORAGES,
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # whitenoise warns when it is missing
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":  # noqa: F405
    # A file, not :memory:, so the browser journeys' live server thread has its own
    # connection instead of sharing the test thread's.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test.sqlite3")}  # noqa: F405

# The browser journeys' live server threads must not keep connections open past a test:
# PostgreSQL refuses to drop a test database that still has sessions.
DATABASES["default"]["CONN_MAX_AGE"] = 0  # noqa: F405

# Embedding every card a test saves would slow the suite down; the tests of semantic search
# turn vectors on themselves.
VERITY_SEARCH_EMBEDDINGS = False
