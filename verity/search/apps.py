from __future__ import annotations

from typing import Any

from django.apps import AppConfig
from django.db.models.signals import post_migrate


def sweep_search_index(sender: AppConfig, using: str = "default", **kwargs: Any) -> None:
    """After migrate (and after the test runner's flush) no index row may outlive its card
    (ids can be reused once a table is emptied), and every card is in the index (a
    migration that changes the index schema leaves it empty)."""
    from django.db import connections

    from verity.search import semantic
    from verity.search.backends import get_backend

    if "knowledge_card" in connections[using].introspection.table_names():
        backend = get_backend()
        backend.sweep_orphans()
        backend.index_missing()
        if "search_cardembedding" in connections[using].introspection.table_names():
            semantic.sync_missing()


class SearchConfig(AppConfig):
    name = "verity.search"
    label = "search"

    def ready(self) -> None:
        from verity.search import analytics, jobs  # noqa: F401  (registers background jobs)

        post_migrate.connect(sweep_search_index, sender=self)
