"""The search page: a plain GET form that also serves htmx partials while typing."""

from __future__ import annotations

import time
from dataclasses import asdict

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from verity.accounts import access
from verity.knowledge import selectors
from verity.knowledge.models import VerificationState
from verity.search import analytics
from verity.search.services import SearchFilters, filter_choices, search_cards

PAGE_SIZE = 20


def _int(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() else None


@login_required
@require_GET
def search(request: HttpRequest) -> HttpResponse:
    query = (request.GET.get("q") or "").strip()[:200]
    state = request.GET.get("state") or None
    if state not in VerificationState.values:
        state = None
    filters = SearchFilters(
        collection_id=_int(request.GET.get("collection")),
        folder_id=_int(request.GET.get("folder")),
        tag=(request.GET.get("tag") or "").strip() or None,
        state=state,
        verifier_id=_int(request.GET.get("verifier")),
        author_id=_int(request.GET.get("author")),
    )
    page_number = max(1, _int(request.GET.get("page")) or 1)
    results = None
    search_event = None
    if query:
        started = time.monotonic()
        results = search_cards(
            user=request.user,
            query=query,
            filters=filters,
            limit=PAGE_SIZE,
            offset=(page_number - 1) * PAGE_SIZE,
        )
        search_event = analytics.record_search(
            user=request.user,
            query=query,
            filters=asdict(filters),
            result_count=results.total,
            took_ms=round((time.monotonic() - started) * 1000),
        )
    total = results.total if results else 0
    pages = (total + PAGE_SIZE - 1) // PAGE_SIZE
    context = {
        "query": query,
        "filters": filters,
        "results": results,
        "page_number": page_number,
        "search_event": search_event,  # result links go through its click counter
        "rank_offset": (page_number - 1) * PAGE_SIZE,
        "pages": pages,
        "has_previous": page_number > 1,
        "has_next": page_number < pages,
        "collections": access.collections_for(request.user),
        "tags": selectors.tags_in_use(request.user),
        "states": VerificationState.choices,
        "choices": filter_choices(request.user),
    }
    if request.htmx and request.htmx.target == "search-results":  # type: ignore[attr-defined]
        return render(request, "search/_results.html", context)
    return render(request, "search/search.html", context)
