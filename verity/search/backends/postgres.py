"""PostgreSQL full-text backend (production)."""

from __future__ import annotations

from typing import Any

from django.db import connection
from django.db.backends.base.base import BaseDatabaseWrapper

from verity.knowledge.models import Card
from verity.search.backends.base import (
    SearchBackend,
    SearchHit,
    SearchPage,
    document_fields,
    highlight,
)

TABLE = "search_document"
# 'simple' keeps the words as written, for English and Russian alike; stemming per
# language is a ranking concern layered on later without changing this interface.
CONFIG = "simple"


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


class PostgresBackend(SearchBackend):
    def index(self, card: Card) -> None:
        with connection.cursor() as cursor:
            if card.archived_at is not None:
                cursor.execute(f"DELETE FROM {TABLE} WHERE card_id = %s", [card.pk])
                return
            title, tags, body = document_fields(card)
            cursor.execute(
                f"INSERT INTO {TABLE} (card_id, body, document) VALUES (%s, %s, "
                f"setweight(to_tsvector('{CONFIG}', %s), 'A') || "
                f"setweight(to_tsvector('{CONFIG}', %s), 'B') || "
                f"setweight(to_tsvector('{CONFIG}', %s), 'D')) "
                "ON CONFLICT (card_id) DO UPDATE SET body = EXCLUDED.body, "
                "document = EXCLUDED.document",
                [card.pk, body, title, tags, body],
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

    def ranked(
        self,
        terms: list[str],
        allowed: tuple[str, tuple[Any, ...]],
        *,
        match_all: bool,
        limit: int,
        offset: int,
    ) -> SearchPage:
        # Terms are \w+ only, so they cannot carry tsquery operators or quotes.
        tsquery = (" & " if match_all else " | ").join(f"'{t}':*" for t in terms)
        allowed_sql, allowed_params = allowed
        where = f"d.document @@ q.query AND d.card_id IN ({allowed_sql})"
        source = f"{TABLE} d, to_tsquery('{CONFIG}', %s) q(query)"
        params: list[Any] = [tsquery, *allowed_params]
        with connection.cursor() as cursor:
            # One pass over the matches both ranks and counts them (the window count sees
            # every match before LIMIT); headlines, the costly part, only for the page.
            cursor.execute(
                "SELECT r.card_id, r.score, r.total, ts_headline(%s, r.body, r.query, "
                "'StartSel=\x02, StopSel=\x03, MaxWords=30, MinWords=12, MaxFragments=1') "
                f"FROM (SELECT d.card_id, d.body, q.query, "
                f"ts_rank_cd(d.document, q.query) AS score, count(*) OVER () AS total "
                f"FROM {source} WHERE {where} "
                "ORDER BY score DESC, d.card_id LIMIT %s OFFSET %s) r ORDER BY r.score DESC, "
                "r.card_id",
                [CONFIG, *params, limit, offset],
            )
            rows = cursor.fetchall()
            if rows:
                total = int(rows[0][2])
            elif offset:
                # A page past the end: the total still tells the client where the end is.
                cursor.execute(f"SELECT count(*) FROM {source} WHERE {where}", params)
                total = int(cursor.fetchone()[0])
            else:
                return SearchPage()
        hits = [
            SearchHit(
                card_id=row[0],
                score=float(row[1]),
                snippet=highlight(row[3]),
            )
            for row in rows
        ]
        return SearchPage(hits=hits, total=total)
