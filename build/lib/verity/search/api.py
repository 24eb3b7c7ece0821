"""GET /api/v1/search: only cards the user can read, ranked, with highlighted snippets."""

from __future__ import annotations

from typing import Any

from ninja import Query, Router

from verity.accounts.schemas import AuthedRequest, Error
from verity.search.schemas import SearchOut, SearchParams
from verity.search.services import SearchFilters, search_cards

router = Router(tags=["search"])


@router.get(
    "/search",
    response={200: SearchOut, 401: Error, 422: Error},
    summary="Search the cards I can read",
)
def search(request: AuthedRequest, params: Query[SearchParams]) -> Any:
    results = search_cards(
        user=request.auth,
        query=params.q,
        filters=SearchFilters(collection_id=params.collection, tag=params.tag, state=params.state),
        limit=params.limit,
        offset=params.offset,
    )
    return {
        "query": results.query,
        "total": results.total,
        "count": results.total,
        "items": results.results,
    }
