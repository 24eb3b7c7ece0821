from __future__ import annotations

import html
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

from django.core.exceptions import EmptyResultSet
from django.db import connection
from django.db.models import QuerySet
from django.utils.html import strip_tags

from verity.knowledge.models import Card
from verity.search.analysis import ParsedQuery, analyze, parse_query

if TYPE_CHECKING:
    from verity.search.memory import MemoryIndex


@dataclass
class SearchHit:
    card_id: int
    score: float


@dataclass
class SearchPage:
    hits: list[SearchHit] = field(default_factory=list)
    total: int = 0


# How a query is ranked depends on how many cards in the whole index match it:
# - up to NARROW_MATCHES: every match is scored, then the allowed ones are kept (one query
#   over those ids). Testing permissions inside FTS5 costs a fixed few milliseconds (bm25()
#   walks every readable collection's posting list), more than scoring a few hundred cards.
# - more: the permission filter is part of the full-text query, and every allowed match is
#   scored, unless more than BROAD_MATCHES are allowed: then the query is "broad" (a common
#   word or two). Scoring a match costs microseconds (FTS5's bm25(), PostgreSQL's
#   ts_rank_cd()) and at 100k cards a common word matches tens of thousands, so a broad
#   query scores the cards with its words in the title or tags and the BROAD_SAMPLE newest
#   matches; its count still covers every match. Pages past BROAD_SAMPLE are ranked
#   exactly (and slowly). docs/search.md has what this costs in relevance.
NARROW_MATCHES = 1_000
BROAD_MATCHES = 5_000
BROAD_SAMPLE = 1_000


def best_page(
    scored: list[tuple[int, float]], *, limit: int, offset: int, total: int
) -> SearchPage:
    """One page of (card id, score) pairs, best first; a card scored twice counts once."""
    best = dict(scored)
    ordered = sorted(best.items(), key=lambda item: (-item[1], item[0]))
    hits = [SearchHit(card_id, score) for card_id, score in ordered[offset : offset + limit]]
    return SearchPage(hits=hits, total=int(total))


@dataclass
class Scope:
    """The readable collections (None = all) and whether other filters narrowed the
    candidates further (then only their exact ids say which cards may come back)."""

    collections: list[int] | None
    narrowed: bool = False


@dataclass(frozen=True)
class Allowed:
    """The cards a search may return: `candidates`, whose SQL is built only when needed; and,
    when nothing but the readable collections limits them, those collections (None = all),
    which a backend may test inside its own index instead of joining every readable id."""

    candidates: QuerySet[Card]
    scope: Scope | None = None

    @property
    def collections_only(self) -> bool:
        return self.scope is not None and not self.scope.narrowed

    @cached_property
    def sql(self) -> tuple[str, tuple[Any, ...]] | None:
        """SQL for the ids of the allowed cards; None when there are none."""
        return candidate_sql(self.candidates)

    @property
    def nothing(self) -> bool:
        if self.collections_only:
            return self.scope is not None and self.scope.collections == []
        return self.sql is None

    def among(self, card_ids: list[int]) -> set[int]:
        """Which of these cards are allowed (one query)."""
        if not card_ids:
            return set()
        if not self.collections_only:  # other filters: the candidates' own query
            return set(self.candidates.filter(pk__in=card_ids).values_list("pk", flat=True))
        # Plain SQL: the ORM spent more time on a thousand ids than the database did. (Like
        # the scope tokens, this relies on the index holding no archived card; testing
        # archived_at here would read past each card's body.)
        sql = f"SELECT id FROM {Card._meta.db_table} WHERE id IN ({{}})"
        params: list[Any] = list(card_ids)
        collections = self.scope.collections if self.scope else None
        if collections is not None:
            sql += " AND collection_id IN ({})".format(", ".join(["%s"] * len(collections)))
            params += collections
        with connection.cursor() as cursor:
            cursor.execute(sql.format(", ".join(["%s"] * len(card_ids))), params)
            return {row[0] for row in cursor.fetchall()}


# How much a term counts in each field, for BM25 (in FTS5 and in the index in memory).
TITLE_WEIGHT, TAGS_WEIGHT, BODY_WEIGHT = 10.0, 5.0, 1.0


class SearchBackend(ABC):
    """index / delete / search / rebuild. `candidates` is the user's readable, filtered cards:
    the backend ranks inside it, so permissions are part of the query."""

    # Whether this backend takes the narrow and the broad way (see NARROW_MATCHES), where
    # measurements showed they pay; otherwise every allowed match is ranked.
    scores_narrow_first = True
    samples_broad = True
    # The index held in memory (verity.search.memory), where the backend has one: it ranks
    # the searches it can answer, the database the others.
    memory: MemoryIndex | None = None

    @abstractmethod
    def index(self, card: Card) -> None: ...

    @abstractmethod
    def delete(self, card_id: int) -> None: ...

    def search(
        self,
        query: str | ParsedQuery,
        candidates: QuerySet[Card],
        limit: int = 20,
        offset: int = 0,
        scope: Scope | None = None,
    ) -> SearchPage:
        """Cards of `candidates` matching the query, best first. Every word must match
        (the last as a prefix, for search-as-you-type); when that finds nothing, any word
        may, so the user still sees the closest cards. `scope` describes `candidates` in
        terms of collections, when the caller knows it."""
        parsed = parse_query(query) if isinstance(query, str) else query
        allowed = Allowed(candidates, scope)
        if not parsed.positive or allowed.nothing:
            return SearchPage()
        page = self.ranked(parsed, allowed, match_all=True, limit=limit, offset=offset)
        positives = len(parsed.terms) + len(parsed.phrases) + (1 if parsed.prefix else 0)
        if page.total == 0 and positives > 1:
            page = self.ranked(parsed, allowed, match_all=False, limit=limit, offset=offset)
        return page

    def ranked(
        self,
        parsed: ParsedQuery,
        allowed: Allowed,
        *,
        match_all: bool,
        limit: int,
        offset: int,
        exact: bool = False,
    ) -> SearchPage:
        """One page of matches among the allowed cards, with the total (see NARROW_MATCHES
        for the three ways). A broad query scores a sample of its matches unless `exact`."""
        if allowed.nothing:
            return SearchPage()
        if self.memory is not None and allowed.scope is not None and allowed.collections_only:
            page = self.memory.ranked(
                parsed, allowed.scope.collections, match_all=match_all, limit=limit, offset=offset
            )
            if page is not None:
                return page
        query = self.match_query(parsed, match_all)
        if not (self.scores_narrow_first or self.samples_broad):
            return self.ranked_exactly(query, allowed, limit=limit, offset=offset)
        # Matches in the whole index, counted up to the bound: this decides the way.
        matches = self.count_matches(query, None, upto=BROAD_MATCHES + 1)
        if self.scores_narrow_first and matches <= NARROW_MATCHES:
            scored = self.scored(query, None, newest=NARROW_MATCHES)
            readable = allowed.among([card_id for card_id, _ in scored])
            scored = [(card_id, score) for card_id, score in scored if card_id in readable]
            return best_page(scored, limit=limit, offset=offset, total=len(scored))
        deep = offset + limit > BROAD_SAMPLE
        if self.samples_broad and matches > BROAD_MATCHES and not exact and not deep:
            total = self.count_matches(query, allowed)
            if total > BROAD_MATCHES:
                titles = self.match_query(parsed, match_all, titles_only=True)
                scored = self.scored(titles, allowed, newest=BROAD_SAMPLE)
                scored += self.scored(query, allowed, newest=BROAD_SAMPLE)
                return best_page(scored, limit=limit, offset=offset, total=total)
        return self.ranked_exactly(query, allowed, limit=limit, offset=offset)

    @abstractmethod
    def match_query(self, parsed: ParsedQuery, match_all: bool, titles_only: bool = False) -> str:
        """The backend's full-text query: every word (or any, unless `match_all`), in any
        field or only in the title and tags; excluded words in no field."""

    # The FROM clause that match_where() filters (the full-text table, or a join).
    match_source: str

    @abstractmethod
    def match_where(self, query: str, allowed: Allowed | None) -> tuple[str, list[Any]]:
        """The WHERE clause (and its parameters) matching `query` among the allowed cards
        (None: any card)."""

    def count_matches(self, query: str, allowed: Allowed | None, upto: int | None = None) -> int:
        """How many cards match (only allowed ones, unless None), counting stops at `upto`."""
        where, params = self.match_where(query, allowed)
        matching = f"FROM {self.match_source} WHERE {where}"
        sql = f"SELECT count(*) {matching}"
        if upto is not None:
            sql = f"SELECT count(*) FROM (SELECT 1 {matching} LIMIT %s) m"
            params = [*params, upto]
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return int(cursor.fetchone()[0])

    @abstractmethod
    def scored(self, query: str, allowed: Allowed | None, newest: int) -> list[tuple[int, float]]:
        """The `newest` matches (allowed ones, unless None) with their scores, higher is
        better; only they are scored."""

    @abstractmethod
    def ranked_exactly(
        self, query: str, allowed: Allowed, *, limit: int, offset: int
    ) -> SearchPage:
        """One page of all allowed matches by score, with their number."""

    @abstractmethod
    def plain_text_sql(self, card_id: str) -> str:
        """A scalar subquery giving the indexed plain text (for snippets) of the card whose
        id is the SQL expression `card_id`; result_cards() reads it with the cards."""

    @abstractmethod
    def vocabulary(self) -> dict[str, int]:
        """Every term in the index with the number of cards holding it (for typo
        correction; callers cache it)."""

    @abstractmethod
    def clear(self) -> None: ...

    @abstractmethod
    def indexed_ids(self) -> set[int]:
        """Ids of the cards in the index."""

    def index_missing(self) -> int:
        """Index every active card the index lacks (after a schema change, say)."""
        missing = Card.objects.filter(archived_at__isnull=True).exclude(pk__in=self.indexed_ids())
        count = 0
        for card in missing.prefetch_related("tags").iterator(chunk_size=500):
            self.index(card)
            count += 1
        return count

    @abstractmethod
    def sweep_orphans(self) -> int:
        """Drop index rows whose card is gone or archived; returns how many."""

    def rebuild(self, cards: QuerySet[Card], progress: Callable[[Card], None] | None = None) -> int:
        """Empty the index and index `cards`; `progress` is called with each card."""
        self.clear()
        count = 0
        for card in cards.prefetch_related("tags").order_by("pk").iterator(chunk_size=500):
            self.index(card)
            count += 1
            if progress is not None:
                progress(card)
        return count


def candidate_sql(candidates: QuerySet[Card]) -> tuple[str, tuple[Any, ...]] | None:
    """SQL for the ids of the cards the search may return; None when that set is empty.
    (Without the model's default ordering, which would sort every readable card.)"""
    try:
        return candidates.order_by().values("pk").query.sql_with_params()
    except EmptyResultSet:
        return None


@dataclass
class Document:
    """A card as the index sees it: analysed (stemmed) fields to match and rank, and the
    plain body text for snippets. (Archived cards are not indexed at all.)"""

    title: str
    tags: str
    body: str
    plain_body: str


def document_for(card: Card) -> Document:
    # The rendered text, so neither Markdown markup nor HTML shows up in snippets.
    plain = " ".join(html.unescape(strip_tags(card.content_html)).split())
    tags = " ".join(t.name for t in card.tags.all())
    return Document(
        title=analyze(card.title), tags=analyze(tags), body=analyze(plain), plain_body=plain
    )
