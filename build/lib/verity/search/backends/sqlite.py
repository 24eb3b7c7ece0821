"""SQLite FTS5 backend (the embedded default)."""

from __future__ import annotations

from django.db import connection
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import QuerySet
from django.utils.html import escape

from verity.knowledge.models import Card
from verity.search.backends.base import (
    SearchBackend,
    SearchHit,
    SearchPage,
    candidate_sql,
    document_fields,
    query_terms,
)

TABLE = "search_card_fts"
# Field weights for bm25(): title counts most, then tags, then the body.
WEIGHTS = (10.0, 5.0, 1.0)
HL_START, HL_END = "\x02", "\x03"


def create_schema(schema_connection: BaseDatabaseWrapper) -> None:
    with schema_connection.cursor() as cursor:
        cursor.execute(
            f"CREATE VIRTUAL TABLE IF NOT EXISTS {TABLE} USING fts5("
            "title, tags, body, tokenize = 'unicode61 remove_diacritics 2')"
        )


def highlight(snippet: str) -> str:
    """Escape the snippet, then turn FTS5's markers into <mark> tags."""
    return escape(snippet).replace(HL_START, "<mark>").replace(HL_END, "</mark>")


class SQLiteBackend(SearchBackend):
    def index(self, card: Card) -> None:
        with connection.cursor() as cursor:
            cursor.execute(f"DELETE FROM {TABLE} WHERE rowid = %s", [card.pk])
            if card.archived_at is None:
                cursor.execute(
                    f"INSERT INTO {TABLE} (rowid, title, tags, body) VALUES (%s, %s, %s, %s)",
                    [card.pk, *document_fields(card)],
                )

    def delete(self, card_id: int) -> None:
        with connection.cursor() as cursor:
            cursor.execute(f"DELETE FROM {TABLE} WHERE rowid = %s", [card_id])

    def sweep_orphans(self) -> int:
        with connection.cursor() as cursor:
            cursor.execute(
                f"DELETE FROM {TABLE} WHERE rowid NOT IN "
                "(SELECT id FROM knowledge_card WHERE archived_at IS NULL)"
            )
            return int(cursor.rowcount)

    def clear(self) -> None:
        with connection.cursor() as cursor:
            cursor.execute(f"DELETE FROM {TABLE}")

    def search(
        self, query: str, candidates: QuerySet[Card], limit: int = 20, offset: int = 0
    ) -> SearchPage:
        terms = query_terms(query)
        if not terms:
            return SearchPage()
        # Every word must match (prefix match, for search-as-you-type); if that finds
        # nothing, any word may match so the user still sees the closest cards.
        quoted = [f'"{t}"*' for t in terms]
        page = self._run(" ".join(quoted), candidates, limit, offset)
        if page.total == 0 and len(terms) > 1:
            page = self._run(" OR ".join(quoted), candidates, limit, offset)
        return page

    def _run(self, match: str, candidates: QuerySet[Card], limit: int, offset: int) -> SearchPage:
        allowed = candidate_sql(candidates)
        if allowed is None:
            return SearchPage()
        allowed_sql, allowed_params = allowed
        # The unary + keeps SQLite from handing the id list to FTS5 as a rowid constraint,
        # which would re-run the MATCH once per readable card (30x slower at 150 cards).
        where = f"{TABLE} MATCH %s AND +{TABLE}.rowid IN ({allowed_sql})"
        params = [match, *allowed_params]
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT count(*) FROM {TABLE} WHERE {where}", params)
            total = cursor.fetchone()[0]
            if not total:
                return SearchPage()
            cursor.execute(
                f"SELECT rowid, bm25({TABLE}, %s, %s, %s) AS score, "
                f"snippet({TABLE}, 2, %s, %s, '…', 16) "
                f"FROM {TABLE} WHERE {where} ORDER BY score LIMIT %s OFFSET %s",
                [*WEIGHTS, HL_START, HL_END, *params, limit, offset],
            )
            hits = [
                SearchHit(card_id=row[0], score=-row[1], snippet=highlight(row[2]))
                for row in cursor.fetchall()
            ]
        return SearchPage(hits=hits, total=total)
