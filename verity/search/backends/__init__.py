"""Search backends: one small interface, one implementation per database.

The backend is picked by the connection's vendor (SQLite FTS5 or PostgreSQL full text)
unless VERITY_SEARCH_BACKEND names a class. The index lives in the same database as the
cards and is written inside the same transaction, so a saved card is searchable at once
and the two never drift.
"""

from __future__ import annotations

from functools import cache
from importlib import import_module

from django.conf import settings
from django.db import connection
from django.db.backends.base.base import BaseDatabaseWrapper
from django.utils.module_loading import import_string

from verity.search.backends.base import Allowed, Scope, SearchBackend, SearchHit, SearchPage

__all__ = [
    "Allowed",
    "Scope",
    "SearchBackend",
    "SearchHit",
    "SearchPage",
    "get_backend",
    "recreate_index",
]

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


def recreate_index(schema_connection: BaseDatabaseWrapper) -> None:
    """Drop the full-text index and create it empty, for a migration that changes what it
    holds; the post-migrate hook in verity.search.apps refills it with the running code."""
    name = "sqlite" if schema_connection.vendor == "sqlite" else "postgres"
    schema = import_module(f"verity.search.backends.{name}")
    schema.drop_schema(schema_connection)
    schema.create_schema(schema_connection)
