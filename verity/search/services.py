"""Searching cards as a given user: permissions and filters go into the query itself."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Q, QuerySet

from verity.accounts import access
from verity.knowledge.models import Card
from verity.search.analysis import parse_query
from verity.search.backends import SearchHit, SearchPage, get_backend


@dataclass
class SearchFilters:
    collection_id: int | None = None
    tag: str | None = None
    state: str | None = None


@dataclass
class SearchResult:
    card: Card
    score: float
    snippet: str


@dataclass
class SearchResults:
    query: str
    results: list[SearchResult] = field(default_factory=list)
    total: int = 0


def search_cards(
    *,
    user: Any,
    query: str,
    filters: SearchFilters | None = None,
    limit: int = 20,
    offset: int = 0,
    snippets: bool = True,
) -> SearchResults:
    filters = filters or SearchFilters()
    parsed = parse_query(query)
    candidates = access.cards_for(user)
    if filters.collection_id:
        candidates = candidates.filter(collection_id=filters.collection_id)
    if filters.tag:
        candidates = candidates.filter(tags__name=filters.tag.lower())
    if filters.state:
        candidates = candidates.filter(verification_state=filters.state)
    for tag in parsed.tags:  # "#pricing" in the query
        candidates = candidates.filter(tags__name=tag)
    for name in parsed.collections:  # "!sales" in the query
        candidates = candidates.filter(
            Q(collection__slug__icontains=name.replace(" ", "-"))
            | Q(collection__name__icontains=name)
        )
    if parsed.positive:
        page = get_backend().search(
            parsed, candidates, limit=limit, offset=offset, snippets=snippets
        )
    elif parsed.tags or parsed.collections:
        page = _browse(candidates, limit, offset)  # only filters: list what they select
    else:
        page = SearchPage()
    cards = (
        Card.objects.filter(pk__in=[h.card_id for h in page.hits])
        .defer("content", "content_html")  # results show the snippet, not the whole body
        .select_related("collection", "verifier_user", "verifier_group", "last_verified_by")
        .prefetch_related("tags")
        .in_bulk()
    )
    results = [
        SearchResult(card=cards[h.card_id], score=h.score, snippet=h.snippet)
        for h in page.hits
        if h.card_id in cards
    ]
    return SearchResults(query=query, results=results, total=page.total)


def _browse(candidates: QuerySet[Card], limit: int, offset: int) -> SearchPage:
    ids = list(
        candidates.order_by("title", "pk").values_list("pk", flat=True)[offset : offset + limit]
    )
    return SearchPage(hits=[SearchHit(card_id=i, score=0.0) for i in ids], total=candidates.count())


def index_card(card: Card) -> None:
    get_backend().index(card)


def indexable_cards() -> QuerySet[Card]:
    return Card.objects.filter(archived_at__isnull=True)


def rebuild_index(progress: Callable[[], None] | None = None) -> int:
    return get_backend().rebuild(indexable_cards(), progress)
