"""Duplicate cards in the HTML interface: the editor's "Similar cards" panel (htmx) and the
curators' report, where a pair is merged or dismissed. The work is done in
verity.search.duplicates and verity.knowledge.services.merge_cards."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from verity.accounts import access
from verity.knowledge import services
from verity.knowledge.models import AccessRole, Card, DuplicatePair, VerificationState
from verity.knowledge.views import AuthedRequest, _error_text, _next_or
from verity.search import duplicates

PAIRS_PER_PAGE = 20


@login_required
@require_POST
def card_similar(request: AuthedRequest) -> HttpResponse:
    """The editor's panel: readable cards most like the draft being typed."""
    title = request.POST.get("title", "")[:300]
    content = request.POST.get("content", "")[:200_000]
    editing = request.GET.get("card", "")
    similar = duplicates.similar_cards(
        request.user,
        title=title,
        body=content,
        exclude_card_id=int(editing) if editing.isdigit() else None,
    )
    return render(
        request,
        "knowledge/_similar_cards.html",
        {"similar": similar, "typed": bool(title.strip() or content.strip())},
    )


def _require_curator(request: AuthedRequest) -> None:
    access.require(access.collections_for(request.user, AccessRole.CURATE).exists())


def _suggested_keep(pair: DuplicatePair) -> Card:
    """Which card the merge form offers to keep: a verified one over one that is not, then
    the more recently verified, then the older (the one people have linked to longest)."""

    def rank(card: Card) -> tuple[int, float, int]:
        verified = card.verification_state == VerificationState.VERIFIED
        when = card.last_verified_at.timestamp() if card.last_verified_at else 0.0
        return (0 if verified else 1, -when, card.pk)

    return min((pair.card_a, pair.card_b), key=rank)


@login_required
@require_GET
def duplicates_report(request: AuthedRequest) -> HttpResponse:
    _require_curator(request)
    page = Paginator(duplicates.duplicate_pairs(request.user), PAIRS_PER_PAGE).get_page(
        request.GET.get("page")
    )
    pairs: list[Any] = list(page.object_list)
    for pair in pairs:
        pair.cards = (pair.card_a, pair.card_b)
        pair.keep_id = _suggested_keep(pair).pk
        pair.percent = round(pair.score * 100)
        pair.text_percent = round(pair.text_similarity * 100)
        pair.meaning_percent = (
            None
            if pair.meaning_similarity is None
            else round(duplicates.meaning_score(pair.meaning_similarity) * 100)
        )
    return render(
        request,
        "knowledge/duplicates.html",
        {"page": page, "pairs": pairs, "scan": duplicates.last_scan()},
    )


def _posted_cards(request: AuthedRequest) -> list[Card]:
    ids = list(dict.fromkeys(i for i in request.POST.getlist("cards") if i.isdigit()))
    return [access.get_card_for(request.user, i) for i in ids]


@login_required
@require_POST
def duplicates_merge(request: AuthedRequest) -> HttpResponse:
    back = reverse("duplicates_report")
    keep = access.get_card_for(request.user, request.POST.get("keep", ""))
    others = [card for card in _posted_cards(request) if card.pk != keep.pk]
    try:
        services.merge_cards(user=request.user, keep=keep, others=others)
    except ValidationError as error:
        messages.error(request, _error_text(error))
        return _next_or(request, back)
    messages.success(
        request,
        _("Merged into “%(keep)s”. Links to %(others)s now lead there.")
        % {"keep": keep.title, "others": ", ".join(f"“{card.title}”" for card in others)},
    )
    return _next_or(request, back)


@login_required
@require_POST
def duplicates_dismiss(request: AuthedRequest) -> HttpResponse:
    cards = _posted_cards(request)
    if len(cards) != 2:
        messages.error(request, _("Choose the two cards that are not duplicates."))
        return _next_or(request, reverse("duplicates_report"))
    duplicates.dismiss_pair(user=request.user, card_a=cards[0], card_b=cards[1])
    if request.htmx:
        return HttpResponse("")  # the pair's row is swapped out of the report
    messages.success(request, _("Noted: this pair will not be suggested again."))
    return _next_or(request, reverse("duplicates_report"))


@login_required
@require_POST
def duplicates_scan(request: AuthedRequest) -> HttpResponse:
    _require_curator(request)
    duplicates.request_scan()
    messages.success(
        request, _("Looking for duplicates now. Reload this page in a minute to see the result.")
    )
    return _next_or(request, reverse("duplicates_report"))
