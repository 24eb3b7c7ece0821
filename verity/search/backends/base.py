from __future__ import annotations

import html
import re
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import EmptyResultSet
from django.db.models import QuerySet
from django.utils.html import escape, strip_tags

from verity.knowledge.models import Card

# Letters and digits of any script; everything else (quotes, operators) is a separator,
# which is why no user input can produce a query syntax error.
WORD_RE = re.compile(r"\w+", re.UNICODE)


def query_terms(query: str, limit: int = 12) -> list[str]:
    """The words of a free-text query, lower-cased; never raises, whatever the input."""
    return [w.lower() for w in WORD_RE.findall(query or "")][:limit]


@dataclass
class SearchHit:
    card_id: int
    score: float
    snippet: str = ""


@dataclass
class SearchPage:
    hits: list[SearchHit] = field(default_factory=list)
    total: int = 0


class SearchBackend(ABC):
    """index / delete / search / rebuild. `candidates` is the user's readable, filtered cards:
    the backend ranks inside it, so permissions are part of the query."""

    @abstractmethod
    def index(self, card: Card) -> None: ...

    @abstractmethod
    def delete(self, card_id: int) -> None: ...

    def search(
        self, query: str, candidates: QuerySet[Card], limit: int = 20, offset: int = 0
    ) -> SearchPage:
        """Cards of `candidates` matching the query, best first. Every word must match
        (the last as a prefix, for search-as-you-type); when that finds nothing, any word
        may, so the user still sees the closest cards."""
        terms = query_terms(query)
        allowed = candidate_sql(candidates)
        if not terms or allowed is None:
            return SearchPage()
        page = self.ranked(terms, allowed, match_all=True, limit=limit, offset=offset)
        if page.total == 0 and len(terms) > 1:
            page = self.ranked(terms, allowed, match_all=False, limit=limit, offset=offset)
        return page

    @abstractmethod
    def ranked(
        self,
        terms: list[str],
        allowed: tuple[str, tuple[Any, ...]],
        *,
        match_all: bool,
        limit: int,
        offset: int,
    ) -> SearchPage:
        """One page of matches among the allowed card ids (SQL and params), with the total."""

    @abstractmethod
    def clear(self) -> None: ...

    @abstractmethod
    def sweep_orphans(self) -> int:
        """Drop index rows whose card is gone or archived; returns how many."""

    def rebuild(self, cards: QuerySet[Card]) -> int:
        self.clear()
        count = 0
        for card in cards.prefetch_related("tags").iterator(chunk_size=500):
            self.index(card)
            count += 1
        return count


def candidate_sql(candidates: QuerySet[Card]) -> tuple[str, tuple[Any, ...]] | None:
    """SQL for the ids of the cards the search may return; None when that set is empty.
    (Without the model's default ordering, which would sort every readable card.)"""
    try:
        return candidates.order_by().values("pk").query.sql_with_params()
    except EmptyResultSet:
        return None


HL_START, HL_END = "\x02", "\x03"


def highlight(snippet: str) -> str:
    """Escape a snippet, then turn the database's highlight markers into <mark> tags."""
    return escape(snippet).replace(HL_START, "<mark>").replace(HL_END, "</mark>")


def document_fields(card: Card) -> tuple[str, str, str]:
    """Title, tags and body as indexed: the body is the rendered text, so neither Markdown
    markup nor HTML shows up in snippets. (Archived cards are not indexed at all.)"""
    tags = " ".join(t.name for t in card.tags.all())
    body = html.unescape(strip_tags(card.content_html))
    return card.title, tags, " ".join(body.split())
