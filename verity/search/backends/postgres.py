"""PostgreSQL full-text backend (production)."""

from __future__ import annotations

from typing import Any

from django.db import connection
from django.db.backends.base.base import BaseDatabaseWrapper

from verity.knowledge.models import Card
from verity.search.analysis import ParsedQuery, prefix_stem
from verity.search.backends.base import (
    Allowed,
    SearchBackend,
    SearchHit,
    SearchPage,
    document_for,
)

TABLE = "search_document"
# The fields arrive already stemmed by verity.search.analysis (the same analysis as on
# SQLite), so PostgreSQL only splits on spaces: the 'simple' configuration.
CONFIG = "simple"
# The index joined with the query, as d and q(query).
SOURCE = f"{TABLE} d, to_tsquery('{CONFIG}', %s) q(query)"


def create_schema(schema_connection: BaseDatabaseWrapper) -> None:
    with schema_connection.cursor() as cursor:
        cursor.execute(
            f"CREATE TABLE IF NOT EXISTS {TABLE} ("
            # No foreign key: Django's test flush truncates knowledge_card without CASCADE;
            # rows of deleted cards are swept by sweep_orphans() after every migrate/flush.
            "card_id bigint PRIMARY KEY, body text NOT NULL, document tsvector NOT NULL)"
        )
        cursor.execute(
            f"CREATE INDEX IF NOT EXISTS {TABLE}_document ON {TABLE} USING gin (document)"
        )


def drop_schema(schema_connection: BaseDatabaseWrapper) -> None:
    with schema_connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {TABLE}")


def tsquery_expression(parsed: ParsedQuery, match_all: bool, weights: str = "") -> str:
    """A tsquery built only from \\w+ terms in quotes: no user input is syntax. With
    `weights` ("AB": title and tags) the query's words must be in those fields; excluded
    words are kept out of every field."""
    parts = [f"'{t}':{weights}" if weights else f"'{t}'" for t in parsed.terms]
    parts += [
        "(" + " <-> ".join(f"'{w}':{weights}" if weights else f"'{w}'" for w in phrase) + ")"
        for phrase in parsed.phrases
    ]
    if parsed.prefix:
        options = dict.fromkeys(
            [f"'{prefix_stem(parsed)}':*{weights}", f"'{parsed.prefix}':*{weights}"]
        )
        parts.append("(" + " | ".join(options) + ")")
    expression = "(" + (" & " if match_all else " | ").join(parts) + ")"
    for term in parsed.excluded:
        expression += f" & !'{term}'"
    return expression


class PostgresBackend(SearchBackend):
    # Both ways measured slower here at 100k cards (docs/benchmarks.md): the permission
    # join is cheap in PostgreSQL, and "newest matches first" made the planner walk the
    # primary key backwards, testing each card's tsvector. Every allowed match is ranked.
    scores_narrow_first = False
    samples_broad = False
    match_source = SOURCE

    def index(self, card: Card) -> None:
        with connection.cursor() as cursor:
            if card.archived_at is not None:
                cursor.execute(f"DELETE FROM {TABLE} WHERE card_id = %s", [card.pk])
                return
            doc = document_for(card)
            cursor.execute(
                f"INSERT INTO {TABLE} (card_id, body, document) VALUES (%s, %s, "
                f"setweight(to_tsvector('{CONFIG}', %s), 'A') || "
                f"setweight(to_tsvector('{CONFIG}', %s), 'B') || "
                f"setweight(to_tsvector('{CONFIG}', %s), 'D')) "
                "ON CONFLICT (card_id) DO UPDATE SET body = EXCLUDED.body, "
                "document = EXCLUDED.document",
                [card.pk, doc.plain_body, doc.title, doc.tags, doc.body],
            )

    def delete(self, card_id: int) -> None:
        with connection.cursor() as cursor:
            cursor.execute(f"DELETE FROM {TABLE} WHERE card_id = %s", [card_id])

    def sweep_orphans(self) -> int:
        with connection.cursor() as cursor:
            cursor.execute(
                f"DELETE FROM {TABLE} d WHERE NOT EXISTS (SELECT 1 FROM knowledge_card c "
                "WHERE c.id = d.card_id AND c.archived_at IS NULL)"
            )
            return int(cursor.rowcount)

    def clear(self) -> None:
        with connection.cursor() as cursor:
            cursor.execute(f"DELETE FROM {TABLE}")

    def indexed_ids(self) -> set[int]:
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT card_id FROM {TABLE}")
            return {row[0] for row in cursor.fetchall()}

    def match_query(self, parsed: ParsedQuery, match_all: bool, titles_only: bool = False) -> str:
        return tsquery_expression(parsed, match_all, weights="AB" if titles_only else "")

    def scored(self, query: str, allowed: Allowed | None, newest: int) -> list[tuple[int, float]]:
        # The inner query picks the newest matches by id, so only they are ranked.
        where, params = self.match_where(query, allowed)
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT m.card_id, ts_rank_cd(m.document, m.query) FROM ("
                f"SELECT d.card_id, d.document, q.query FROM {SOURCE} WHERE {where} "
                "ORDER BY d.card_id DESC LIMIT %s) m",
                [*params, newest],
            )
            return [(card_id, float(score)) for card_id, score in cursor.fetchall()]

    def ranked_exactly(
        self, query: str, allowed: Allowed, *, limit: int, offset: int
    ) -> SearchPage:
        where, params = self.match_where(query, allowed)
        with connection.cursor() as cursor:
            # One pass over the matches both ranks and counts them (the window count sees
            # every match before LIMIT); snippets are made in Python for the page only.
            cursor.execute(
                "SELECT d.card_id, ts_rank_cd(d.document, q.query) AS score, "
                f"count(*) OVER () AS total FROM {SOURCE} WHERE {where} "
                "ORDER BY score DESC, d.card_id LIMIT %s OFFSET %s",
                [*params, limit, offset],
            )
            rows = cursor.fetchall()
        # Past the end of the matches, the total still tells the client where the end is.
        total = int(rows[0][2]) if rows else self.count_matches(query, allowed) if offset else 0
        hits = [SearchHit(card_id=row[0], score=float(row[1])) for row in rows]
        return SearchPage(hits=hits, total=total)

    def match_where(self, tsquery: str, allowed: Allowed | None) -> tuple[str, list[Any]]:
        """The WHERE clause matching `tsquery` among the allowed cards (None: any)."""
        if allowed is None:
            return "d.document @@ q.query", [tsquery]
        assert allowed.sql is not None  # callers return early when nothing is allowed
        allowed_sql, allowed_params = allowed.sql
        return f"d.document @@ q.query AND d.card_id IN ({allowed_sql})", [
            tsquery,
            *allowed_params,
        ]

    def plain_texts(self, card_ids: list[int]) -> dict[int, str]:
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT card_id, body FROM {TABLE} WHERE card_id = ANY(%s)", [card_ids])
            return dict(cursor.fetchall())

    def vocabulary(self) -> dict[str, int]:
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT word, ndoc FROM ts_stat('SELECT document FROM {TABLE}')")
            return dict(cursor.fetchall())
