"""SQLite FTS5 backend (the embedded default)."""

from __future__ import annotations

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
from verity.search.memory import (
    EVERY_CARD,
    TOKENIZER,
    Change,
    IndexedDocument,
    MemoryIndex,
    fts_terms,
    weighted_counts,
)
from verity.search.models import IndexChange

TABLE = "search_card_fts"
# Field weights for bm25(): title counts most, then tags, then the body; raw is not
# indexed and scope only filters, so neither adds to the score.
WEIGHTS = (TITLE_WEIGHT, TAGS_WEIGHT, BODY_WEIGHT, 0.0, 0.0)
VOCAB = "search_card_vocab_col"
# The query's words are matched in these columns only (never against scope tokens).
TEXT_COLUMNS = "{title tags body}"
TITLE_COLUMNS = "{title tags}"
CHANGES = IndexChange._meta.db_table


def record_changes(cursor: CursorWrapper, card_ids: list[int]) -> None:
    """Give each card the next change serial (taken inside the write, so in commit order:
    SQLite has one writer at a time)."""
    # An emptied table (a flush, a restored backup) starts again from a random serial with
    # the "every card" row: no process can then mistake the new serials for ones it has seen.
    cursor.execute(
        f"INSERT INTO {CHANGES} (card_id, serial) SELECT %s, abs(random() %% 1000000000000000) "
        f"WHERE NOT EXISTS (SELECT 1 FROM {CHANGES} WHERE card_id = %s)",
        [EVERY_CARD, EVERY_CARD],
    )
    for card_id in card_ids:
        cursor.execute(
            f"INSERT INTO {CHANGES} (card_id, serial) "
            f"VALUES (%s, (SELECT coalesce(max(serial), 0) + 1 FROM {CHANGES})) "
            "ON CONFLICT (card_id) DO UPDATE SET serial = excluded.serial",
            [card_id],
        )


def scope_token(collection_id: int) -> str:
    """The card's collection as a token of the scope column: the permission filter then runs
    inside the full-text index (intersecting posting lists) instead of building the set of
    every readable card id for each query."""
    return f"c{collection_id}"


def create_schema(schema_connection: BaseDatabaseWrapper) -> None:
    with schema_connection.cursor() as cursor:
        # title, tags and body hold stems (see verity.search.analysis); raw is the plain
        # body for snippets, stored but not indexed; scope holds the collection's token.
        cursor.execute(
            f"CREATE VIRTUAL TABLE IF NOT EXISTS {TABLE} USING fts5("
            "title, tags, body, raw UNINDEXED, scope, "
            f"tokenize = '{TOKENIZER}')"
        )


def drop_schema(schema_connection: BaseDatabaseWrapper) -> None:
    with schema_connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {TABLE}")


def match_expression(parsed: ParsedQuery, match_all: bool, columns: str = TEXT_COLUMNS) -> str:
    """An FTS5 query built only from \\w+ terms inside quotes: no user input is syntax.
    The query's words must be in `columns`; excluded words are kept out of every field."""
    parts = [f'"{t}"' for t in parsed.terms]
    parts += ['"' + " ".join(phrase) + '"' for phrase in parsed.phrases]
    if parsed.prefix:
        stemmed = prefix_stem(parsed)
        options = dict.fromkeys([f'"{stemmed}"*', f'"{parsed.prefix}"*'])
        parts.append("(" + " OR ".join(options) + ")")
    expression = f"({columns} : (" + (" AND " if match_all else " OR ").join(parts) + "))"
    if parsed.excluded:
        excluded = " OR ".join(f'"{term}"' for term in parsed.excluded)
        expression += f" NOT ({TEXT_COLUMNS} : ({excluded}))"
    return expression


def scope_expression(collection_ids: list[int]) -> str:
    return "scope : (" + " OR ".join(scope_token(c) for c in collection_ids) + ")"


class SQLiteBackend(SearchBackend):
    match_source = TABLE

    def __init__(self) -> None:
        if settings.VERITY_SEARCH_MEMORY_INDEX:
            self.memory = MemoryIndex(self)

    def index(self, card: Card) -> None:
        with connection.cursor() as cursor:
            record_changes(cursor, [card.pk])
            cursor.execute(f"DELETE FROM {TABLE} WHERE rowid = %s", [card.pk])
            if card.archived_at is None:
                doc = document_for(card)
                cursor.execute(
                    f"INSERT INTO {TABLE} (rowid, title, tags, body, raw, scope) "
                    "VALUES (%s, %s, %s, %s, %s, %s)",
                    [
                        card.pk,
                        doc.title,
                        doc.tags,
                        doc.body,
                        doc.plain_body,
                        scope_token(card.collection_id),
                    ],
                )

    def delete(self, card_id: int) -> None:
        with connection.cursor() as cursor:
            record_changes(cursor, [card_id])
            cursor.execute(f"DELETE FROM {TABLE} WHERE rowid = %s", [card_id])

    def indexed_ids(self) -> set[int]:
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT rowid FROM {TABLE}")
            return {row[0] for row in cursor.fetchall()}

    def sweep_orphans(self) -> int:
        with connection.cursor() as cursor:
            active = f"SELECT id FROM {Card._meta.db_table} WHERE archived_at IS NULL"
            orphans = f"rowid NOT IN ({active})"
            cursor.execute(f"SELECT rowid FROM {TABLE} WHERE {orphans}")
            record_changes(cursor, [row[0] for row in cursor.fetchall()])
            cursor.execute(f"DELETE FROM {TABLE} WHERE {orphans}")
            return int(cursor.rowcount)

    def clear(self) -> None:
        with connection.cursor() as cursor:
            record_changes(cursor, [EVERY_CARD])
            cursor.execute(f"DELETE FROM {TABLE}")

    # The in-memory index's source (verity.search.memory.DocumentSource).

    def documents(self, card_ids: list[int] | None = None) -> Iterator[IndexedDocument]:
        sql = f"SELECT rowid, scope, title, tags, body FROM {TABLE}"
        if card_ids is None:
            queries: list[tuple[str, list[int]]] = [(sql, [])]
        else:
            chunks = [card_ids[i : i + 500] for i in range(0, len(card_ids), 500)]
            queries = [
                (f"{sql} WHERE rowid IN ({', '.join(['%s'] * len(chunk))})", chunk)
                for chunk in chunks
            ]
        with connection.cursor() as cursor:
            for query, params in queries:
                cursor.execute(query, params)
                while rows := cursor.fetchmany(2000):
                    for card_id, scope, title, tags, body in rows:
                        counts, length = weighted_counts(
                            [(fts_terms(body), BODY_WEIGHT), (fts_terms(title), TITLE_WEIGHT),
                             (fts_terms(tags), TAGS_WEIGHT)],
                            extra_length=1,  # the scope token: FTS5 counts it in the length
                        )  # fmt: skip
                        yield IndexedDocument(card_id, int(scope[1:]), counts, length)

    def document_count(self) -> int:
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT count(*) FROM {TABLE}_docsize")
            return int(cursor.fetchone()[0])

    def changes_since(self, position: int | None) -> tuple[int, list[Change] | None]:
        # The position is the highest serial seen: serials are taken in commit order.
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT max(serial) FROM {CHANGES}")
            serial = int(cursor.fetchone()[0] or 0)
            if position is None or serial < position:  # never looked, or the log was emptied
                return serial, None
            if serial == position:
                return position, []
            cursor.execute(f"SELECT card_id, serial FROM {CHANGES} WHERE serial > %s", [position])
            changes = [(int(card_id), int(s)) for card_id, s in cursor.fetchall()]
        return max([serial, *(s for _, s in changes)]), changes

    def match_query(self, parsed: ParsedQuery, match_all: bool, titles_only: bool = False) -> str:
        return match_expression(parsed, match_all, TITLE_COLUMNS if titles_only else TEXT_COLUMNS)

    def scored(self, query: str, allowed: Allowed | None, newest: int) -> list[tuple[int, float]]:
        # FTS5 walks the matches newest first and stops at the limit, so only those are
        # scored. bm25() is lower for better matches, hence the sign.
        where, params = self.match_where(query, allowed)
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT rowid, bm25({TABLE}, %s, %s, %s, %s, %s) FROM {TABLE} WHERE {where} "
                "ORDER BY rowid DESC LIMIT %s",
                [*WEIGHTS, *params, newest],
            )
            return [(card_id, -score) for card_id, score in cursor.fetchall()]

    def ranked_exactly(
        self, query: str, allowed: Allowed, *, limit: int, offset: int
    ) -> SearchPage:
        where, params = self.match_where(query, allowed)
        with connection.cursor() as cursor:
            # One pass ranks and counts: bm25 has to score every match before the sort
            # anyway, and the window count sees them all before LIMIT (a separate count(*)
            # ran the match and the permission filter a second time).
            # (bm25() only works in the query on the FTS table itself, hence the subquery.)
            cursor.execute(
                "SELECT id, score, count(*) OVER () FROM ("
                f"SELECT rowid AS id, bm25({TABLE}, %s, %s, %s, %s, %s) AS score FROM {TABLE} "
                f"WHERE {where}) ORDER BY score, id LIMIT %s OFFSET %s",
                [*WEIGHTS, *params, limit, offset],
            )
            rows = cursor.fetchall()
        # Past the end of the matches, the total still tells the client where the end is.
        total = int(rows[0][2]) if rows else self.count_matches(query, allowed) if offset else 0
        return SearchPage(hits=[SearchHit(row[0], -row[1]) for row in rows], total=total)

    def match_where(self, expression: str, allowed: Allowed | None) -> tuple[str, list[Any]]:
        """The WHERE clause matching `expression` among the allowed cards (None: any)."""
        if allowed is None:
            return f"{TABLE} MATCH %s", [expression]
        if allowed.collections_only:
            collections = allowed.scope.collections if allowed.scope else None
            if collections is not None:
                expression = f"({expression}) AND {scope_expression(collections)}"
            return f"{TABLE} MATCH %s", [expression]
        assert allowed.sql is not None  # callers return early when nothing is allowed
        allowed_sql, allowed_params = allowed.sql
        # The unary + keeps SQLite from handing the id list to FTS5 as a rowid
        # constraint, which would re-run the MATCH once per readable card.
        return f"{TABLE} MATCH %s AND +{TABLE}.rowid IN ({allowed_sql})", [
            expression,
            *allowed_params,
        ]

    def plain_text_sql(self, card_id: str) -> str:
        return f"(SELECT raw FROM {TABLE} WHERE rowid = {card_id})"

    def vocabulary(self) -> dict[str, int]:
        with connection.cursor() as cursor:
            # fts5vocab reads the terms straight out of the full-text index; a temp table
            # lives with the connection, so it needs no migration.
            # ('col' rather than 'row', to leave out the scope tokens; a term's count is then
            # that of the field holding it most often, close enough to rank corrections.)
            cursor.execute(
                f"CREATE VIRTUAL TABLE IF NOT EXISTS temp.{VOCAB} "
                f"USING fts5vocab(main, {TABLE}, 'col')"
            )
            cursor.execute(
                f"SELECT term, max(doc) FROM temp.{VOCAB} "
                "WHERE col IN ('title', 'tags', 'body') GROUP BY term"
            )
            return dict(cursor.fetchall())
