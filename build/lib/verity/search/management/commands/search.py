"""`verity search rebuild` and `verity search status`: the search index from the command line.

The index lives in the database next to the cards and is written with every save, so a
rebuild is only needed after a restore from an old backup, a manual edit of the tables, or
an upgrade whose notes ask for it. It runs in one transaction: searches keep answering from
the old index until the new one is complete.
"""

from __future__ import annotations

from typing import IO, Any, cast

from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from verity.knowledge.models import Card
from verity.search.backends import get_backend
from verity.search.backends import postgres as postgres_backend
from verity.search.backends import sqlite as sqlite_backend

# Where each built-in backend keeps one row per indexed card (table, card id column).
INDEX_TABLES = {
    "sqlite": (sqlite_backend.TABLE, "rowid"),
    "postgresql": (postgres_backend.TABLE, "card_id"),
}


def indexable_cards() -> Any:
    return Card.objects.filter(archived_at__isnull=True)


def indexed_card_ids() -> set[int] | None:
    """Card ids present in the index, or None when the backend is not a built-in one."""
    from django.conf import settings

    if settings.VERITY_SEARCH_BACKEND or connection.vendor not in INDEX_TABLES:
        return None
    table, column = INDEX_TABLES[connection.vendor]
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {column} FROM {table}")
        return {row[0] for row in cursor.fetchall()}


def index_status() -> dict[str, Any]:
    """Cards that should be searchable vs what the index holds."""
    backend = get_backend()
    expected = set(indexable_cards().values_list("pk", flat=True))
    indexed = indexed_card_ids()
    status: dict[str, Any] = {
        "backend": f"{type(backend).__module__}.{type(backend).__name__}",
        "database": connection.vendor,
        "cards": len(expected),
        "indexed": None if indexed is None else len(indexed),
        "missing": None if indexed is None else len(expected - indexed),
        "stale": None if indexed is None else len(indexed - expected),
    }
    status["in_sync"] = indexed is not None and not status["missing"] and not status["stale"]
    return status


class Command(BaseCommand):
    help = "Rebuild the search index or show whether it matches the cards."

    def add_arguments(self, parser: Any) -> None:
        sub = parser.add_subparsers(dest="action", required=True, metavar="{rebuild,status}")
        rebuild = sub.add_parser("rebuild", help="Index every active card again.")
        rebuild.add_argument(
            "--no-progress", action="store_true", help="Do not draw a progress bar."
        )
        status = sub.add_parser("status", help="Compare the index with the cards.")
        status.add_argument(
            "--check", action="store_true", help="Exit with status 1 when the index is out of sync."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] == "rebuild":
            self.rebuild(show_progress=not options["no_progress"])
        else:
            self.status(check=options["check"])

    def rebuild(self, *, show_progress: bool) -> None:
        backend = get_backend()
        cards = indexable_cards().prefetch_related("tags").order_by("pk")
        console = Console(file=cast(IO[str], self.stdout))
        with transaction.atomic():
            total = cards.count()
            backend.clear()
            with Progress(
                TextColumn("[bold]Indexing cards"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeRemainingColumn(),
                console=console,
                disable=not show_progress,
                transient=False,
            ) as progress:
                task = progress.add_task("index", total=total)
                for card in cards.iterator(chunk_size=500):
                    backend.index(card)
                    progress.advance(task)
        self.stdout.write(f"Indexed {total} cards with {type(backend).__name__}.")

    def status(self, *, check: bool) -> None:
        status = index_status()
        rows = [
            ("Backend", status["backend"]),
            ("Database", status["database"]),
            ("Active cards", status["cards"]),
            ("Indexed cards", _or_unknown(status["indexed"])),
            ("Missing from the index", _or_unknown(status["missing"])),
            ("Stale in the index", _or_unknown(status["stale"])),
        ]
        width = max(len(label) for label, _ in rows)
        for label, value in rows:
            self.stdout.write(f"{label.ljust(width)}  {value}")
        if status["in_sync"]:
            self.stdout.write("The index is in sync.")
        elif status["indexed"] is not None:
            self.stdout.write("The index is out of sync: run `verity search rebuild`.")
            if check:
                raise CommandError("search index out of sync", returncode=1)


def _or_unknown(value: int | None) -> str:
    return "unknown" if value is None else str(value)
