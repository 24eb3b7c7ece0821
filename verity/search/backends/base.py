from __future__ import annotations

import html
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import EmptyResultSet
from django.db.models import QuerySet
from django.utils.html import strip_tags

from verity.knowledge.models import Card
from verity.search.analysis import ParsedQuery, analyze, parse_query


@dataclass
class SearchHit:
    card_id: int
    score: float


@dataclass
class SearchPage:
    hits: list[SearchHit] = field(default_factory=list)
    total: int = 0


@dataclass
class Scope:
    """The readable collections (None = all) and whether other filters narrowed the
    candidates further (then only their exact ids say which cards may come back)."""

    collections: list[int] | None
    narrowed: bool = False


@dataclass(frozen=True)
class Allowed:
    """The cards a search may return: SQL for their ids; and, when nothing but the readable
    collections limits them, those collections (None = all), which a backend may test inside
    its own index instead of joining every readable id."""

    sql: tuple[str, tuple[Any, ...]]
    scope: Scope | None = None

    @property
    def collections_only(self) -> bool:
        return self.scope is not None and not self.scope.narrowed


class SearchBackend(ABC):
    """index / delete / search / rebuild. `candidates` is the user's readable, filtered cards:
    the backend ranks inside it, so permissions are part of the query."""

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
        sql = candidate_sql(candidates)
        if not parsed.positive or sql is None:
            return SearchPage()
        allowed = Allowed(sql=sql, scope=scope)
        page = self.ranked(parsed, allowed, match_all=True, limit=limit, offset=offset)
        positives = len(parsed.terms) + len(parsed.phrases) + (1 if parsed.prefix else 0)
        if page.total == 0 and positives > 1:
            page = self.ranked(parsed, allowed, match_all=False, limit=limit, offset=offset)
        return page

    @abstractmethod
    def ranked(
        self,
        parsed: ParsedQuery,
        allowed: Allowed,
        *,
        match_all: bool,
        limit: int,
        offset: int,
    ) -> SearchPage:
        """One page of matches among the allowed cards, with the total."""

    @abstractmethod
    def plain_texts(self, card_ids: list[int]) -> dict[int, str]:
        """The indexed plain text of each card, for snippets."""

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
