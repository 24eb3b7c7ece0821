"""GET /api/v1/search: only cards the user can read, ranked, with highlighted snippets."""

from __future__ import annotations

import time
from dataclasses import asdict
from typing import Any

from django.http import Http404
from ninja import Query, Router, Status

from verity.accounts import access
from verity.accounts.schemas import AuthedRequest, Error
from verity.search import analytics
from verity.search.models import SearchEvent
from verity.search.schemas import SearchClickIn, SearchInsightsOut, SearchOut, SearchParams
from verity.search.services import SearchFilters, search_cards

router = Router(tags=["search"])


@router.get(
    "/search",
    response={200: SearchOut, 401: Error, 422: Error},
    summary="Search the cards I can read",
)
def search(request: AuthedRequest, params: Query[SearchParams]) -> Any:
    started = time.monotonic()
    filters = SearchFilters(
        collection_id=params.collection,
        folder_id=params.folder,
        tag=params.tag,
        state=params.state,
        verifier_id=params.verifier,
        author_id=params.author,
    )
    results = search_cards(
        user=request.auth,
        query=params.q,
        filters=filters,
        limit=params.limit,
        offset=params.offset,
    )
    event = analytics.record_search(
        user=request.auth,
        query=params.q,
        filters=asdict(filters),
        result_count=results.total,
        source=SearchEvent.Source.API,
        took_ms=round((time.monotonic() - started) * 1000),
    )
    return {
        "search_id": event.pk if event else None,
        "query": results.query,
        "total": results.total,
        "count": results.total,
        "items": results.results,
        "corrected": results.corrected,
        "semantic": results.semantic,
    }


@router.post(
    "/search/{search_id}/click",
    response={204: None, 401: Error, 404: Error, 422: Error},
    summary="Tell which result of my search I opened",
)
def search_click(request: AuthedRequest, search_id: int, payload: SearchClickIn) -> Any:
    # Someone else's search, or a card the caller cannot read, is simply "not found".
    if analytics.search_event_of(user=request.auth, event_id=search_id) is None:
        raise Http404
    if not access.cards_for(request.auth).filter(pk=payload.card_id).exists():
        raise Http404
    analytics.record_click(
        user=request.auth, event_id=search_id, card_id=payload.card_id, rank=payload.rank
    )
    return Status(204, None)


@router.get(
    "/search/insights",
    response={200: SearchInsightsOut, 401: Error, 403: Error, 422: Error},
    summary="Top queries and knowledge gaps (curators and admins)",
)
def search_insights(request: AuthedRequest, days: int = 30) -> Any:
    access.require(access.can_see_search_insights(request.auth))
    report = analytics.search_insights(user=request.auth, days=days)
    return {
        "days": report.days,
        "since": report.since,
        "total_searches": report.total_searches,
        **{
            name: [{**asdict(row), "click_rate": row.click_rate} for row in getattr(report, name)]
            for name in ("top", "no_results", "no_clicks")
        },
    }
