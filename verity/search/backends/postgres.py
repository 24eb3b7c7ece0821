"""PostgreSQL full-text backend (production)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from django.conf import settings
from django.db import connection
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.backends.utils import CursorWrapper

from verity.knowledge.models import Card
from verity.search.analysis import ParsedQuery, prefix_stem
from verity.search.backends.base import (
    BODY_WEIGHT,
    TAGS_WEIGHT,
    TITLE_WEIGHT,
    Allowed,
    SearchBackend,
    SearchHit,
    SearchPage,
    document_for,
)
from verity.search.memory import EVERY_CARD, Change, IndexedDocument, MemoryIndex
from verity.search.models import IndexChange

TABLE = "search_document"
# The fields arrive already stemmed by verity.search.analysis (the same analysis as on
# SQLite), so PostgreSQL only splits on spaces: the 'simple' configuration.
CONFIG = "simple"
# The index joined with the query, as d and q(query).
SOURCE = f"{TABLE} d, to_tsquery('{CONFIG}', %s) q(query)"
CHANGES = IndexChange._meta.db_table
# One lexeme of a tsvector's text form and its positions: 'price':1A,7 (no letter: D).
LEXEME = re.compile(r"'((?:[^']|'')*)'(?::([0-9A-D,]+))?")


# A change's serial: the writing transaction's id, shifted left by this many bits; the
# low bits count that transaction's changes to the same card.
XID_SHIFT = 20


def record_changes(cursor: CursorWrapper, card_ids: list[int]) -> None:
    """Stamp each card's change with the id of the transaction writing it. Transactions
    commit in any order, so readers do not look for ids above the last they saw but for
    ids at or above the oldest transaction that was still running then (changes_since).
    A card changed again in the same transaction gets the next serial, so a reader inside
    that transaction (a test's) tells the two changes apart."""
    cursor.execute(
        f"INSERT INTO {CHANGES} AS c (card_id, serial) "
        f"SELECT unnest(%s::bigint[]), pg_current_xact_id()::text::bigint << {XID_SHIFT} "
        "ON CONFLICT (card_id) DO UPDATE SET serial = CASE "
        f"WHEN c.serial >> {XID_SHIFT} = excluded.serial >> {XID_SHIFT} THEN c.serial + 1 "
        "ELSE excluded.serial END",
        [card_ids],
    )


def weighted_lexemes(tsvector: str) -> tuple[dict[str, float], int]:
    """A tsvector's lexemes with their counts weighted by field (A title, B tags, D body,
    as index() writes them), and its length in positions. (PostgreSQL keeps at most 256
    positions of a lexeme and none past 16,383: cards far longer than any card here.)"""
    counts: dict[str, float] = {}
    length = 0
    for lexeme, positions in LEXEME.findall(tsvector):
        n = positions.count(",") + 1
        title, tags = positions.count("A"), positions.count("B")
        counts[lexeme.replace("''", "'")] = (
            title * TITLE_WEIGHT + tags * TAGS_WEIGHT + (n - title - tags) * BODY_WEIGHT
        )
        length += n
    return counts, length


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

    def __init__(self) -> None:
        if settings.VERITY_SEARCH_MEMORY_INDEX:
            self.memory = MemoryIndex(self)

    def index(self, card: Card) -> None:
        with connection.cursor() as cursor:
            record_changes(cursor, [card.pk])
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
            record_changes(cursor, [card_id])
            cursor.execute(f"DELETE FROM {TABLE} WHERE card_id = %s", [card_id])

    def sweep_orphans(self) -> int:
        with connection.cursor() as cursor:
            cursor.execute(
                f"DELETE FROM {TABLE} d WHERE NOT EXISTS (SELECT 1 FROM knowledge_card c "
                "WHERE c.id = d.card_id AND c.archived_at IS NULL) RETURNING d.card_id"
            )
            swept = [row[0] for row in cursor.fetchall()]
            if swept:
                record_changes(cursor, swept)
            return len(swept)

    def clear(self) -> None:
        with connection.cursor() as cursor:
            record_changes(cursor, [EVERY_CARD])
            cursor.execute(f"DELETE FROM {TABLE}")

    # The in-memory index's source (verity.search.memory.DocumentSource).

    def documents(self, card_ids: list[int] | None = None) -> Iterator[IndexedDocument]:
        sql = (
            f"SELECT d.card_id, c.collection_id, d.document::text FROM {TABLE} d "
            f"JOIN {Card._meta.db_table} c ON c.id = d.card_id"
        )
        params: list[Any] = []
        if card_ids is not None:
            sql += " WHERE d.card_id = ANY(%s)"
            params = [card_ids]
        # A server-side cursor: the whole index would not fit in one fetch.
        with connection.chunked_cursor() as cursor:
            cursor.execute(sql, params)
            while rows := cursor.fetchmany(2000):
                for card_id, collection_id, tsvector in rows:
                    counts, length = weighted_lexemes(tsvector)
                    yield IndexedDocument(card_id, collection_id, counts, length)

    def document_count(self) -> int:
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT count(*) FROM {TABLE}")
            return int(cursor.fetchone()[0])

    def changes_since(self, position: int | None) -> tuple[int, list[Change] | None]:
        # The position is the oldest transaction running at the last look: every change
        # not yet committed then has a serial at or above it; those seen then come again
        # until it moves past them (the index skips what it has applied). One statement,
        # so the horizon and the rows are of the same snapshot.
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT h.horizon, c.card_id, c.serial FROM (SELECT "
                f"pg_snapshot_xmin(pg_current_snapshot())::text::bigint << {XID_SHIFT} "
                "AS horizon) h "
                f"LEFT JOIN {CHANGES} c ON c.serial >= %s",
                [position if position is not None else 2**62],
            )
            rows = cursor.fetchall()
        horizon = int(rows[0][0])
        if position is None:
            return horizon, None
        return horizon, [(int(card_id), int(s)) for _, card_id, s in rows if card_id is not None]

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

    def plain_text_sql(self, card_id: str) -> str:
        return f"(SELECT body FROM {TABLE} WHERE card_id = {card_id})"

    def vocabulary(self) -> dict[str, int]:
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT word, ndoc FROM ts_stat('SELECT document FROM {TABLE}')")
            return dict(cursor.fetchall())
