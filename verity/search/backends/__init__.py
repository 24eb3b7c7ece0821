"""Search backends: one small interface, one implementation per database.

The backend is picked by the connection's vendor (SQLite FTS5 or PostgreSQL full text)
unless VERITY_SEARCH_BACKEND names a class. The index lives in the same database as the
cards and is written inside the same transaction, so a saved card is searchable at once
and the two never drift.
"""

from __future__ import annotations

from functools import cache

from django.conf import settings
from django.db import connection
from django.utils.module_loading import import_string

from verity.search.backends.base import Allowed, Scope, SearchBackend, SearchHit, SearchPage

__all__ = ["Allowed", "Scope", "SearchBackend", "SearchHit", "SearchPage", "get_backend"]

BY_VENDOR = {
    "sqlite": "verity.search.backends.sqlite.SQLiteBackend",
    "postgresql": "verity.search.backends.postgres.PostgresBackend",
}


@cache
def _backend(path: str) -> SearchBackend:
    backend: SearchBackend = import_string(path)()
    return backend


def get_backend() -> SearchBackend:
    return _backend(settings.VERITY_SEARCH_BACKEND or BY_VENDOR[connection.vendor])
