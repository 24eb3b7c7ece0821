"""Search analytics: what people search for, what they open, and where knowledge is missing.

Every search is recorded as a `SearchEvent`; curators read them only as counts grouped by the
normalised query (never who searched). A gap — a query that finds nothing, or whose results
nobody opens — can be turned into a card or into a `KnowledgeRequest` to a group of experts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import Avg, Case, Count, Max, Q, QuerySet, When
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from verity.accounts import access
from verity.accounts.models import Group, User
from verity.core.jobs import enqueue, job, periodic
from verity.knowledge.models import Card
from verity.search.models import KnowledgeRequest, SearchEvent

# Search-as-you-type sends a request per pause in typing; requests this close together whose
# queries extend (or shorten) each other are one question, so they update one event.
COLLAPSE_WINDOW = timedelta(seconds=30)
REPORT_PERIODS = (7, 30, 90)
REPORT_LIMIT = 50
MAX_QUERY = 500


def normalize(query: str) -> str:
    """The key reports group by: case and spacing do not make a different question."""
    return " ".join(query.lower().split())[:MAX_QUERY]


# ---------------------------------------------------------------- recording


def record_search(
    *,
    user: Any,
    query: str,
    filters: dict[str, Any] | None = None,
    result_count: int,
    source: str = SearchEvent.Source.WEB,
    took_ms: int = 0,
) -> SearchEvent | None:
    """Record one search (or fold it into the one being typed); empty queries are not kept."""
    query = " ".join(query.split())[:MAX_QUERY]
    normalized = normalize(query)
    if not normalized:
        return None
    # Keep only the filters actually used, so reports can tell filtered searches apart.
    filters = {key: value for key, value in (filters or {}).items() if value not in (None, "")}
    now = timezone.now()
    person = user if user is not None and user.is_authenticated else None
    fields = {
        "query": query,
        "normalized": normalized,
        "filters": filters,
        "result_count": max(0, result_count),
        "took_ms": max(0, int(took_ms)),
        "created_at": now,
    }
    if person is not None:
        previous = (
            SearchEvent.objects.filter(
                user=person, source=source, created_at__gte=now - COLLAPSE_WINDOW
            )
            .order_by("-created_at", "-pk")
            .first()
        )
        if (
            previous is not None
            and previous.clicked_at is None
            and (
                normalized.startswith(previous.normalized)
                or previous.normalized.startswith(normalized)
            )
        ):
            for name, value in fields.items():
                setattr(previous, name, value)
            previous.save(update_fields=list(fields))
            return previous
    return SearchEvent.objects.create(user=person, source=source, **fields)


def record_click(*, user: Any, event_id: int, card_id: int, rank: int | None) -> bool:
    """Note which result was opened. Only the person who searched can mark their search, only
    with a card they can read, and only the first opened result counts."""
    if not (user is not None and user.is_authenticated):
        return False
    if not access.cards_for(user).filter(pk=card_id).exists():
        return False
    rank = rank if rank is not None and 0 < rank < 100_000 else None
    updated = SearchEvent.objects.filter(pk=event_id, user=user, clicked_at__isnull=True).update(
        clicked_card_id=card_id, clicked_rank=rank, clicked_at=timezone.now()
    )
    return updated > 0


def search_event_of(*, user: Any, event_id: int) -> SearchEvent | None:
    """The user's own search event (None for anyone else's, so ids reveal nothing)."""
    if not (user is not None and user.is_authenticated):
        return None
    return SearchEvent.objects.filter(pk=event_id, user=user).first()


# ---------------------------------------------------------------- reports


@dataclass(frozen=True)
class QueryStat:
    """One normalised query over a period. No user names: counts only."""

    query: str
    example: str  # one spelling somebody actually typed, to prefill a card title
    searches: int
    users: int
    avg_results: float
    clicks: int
    last_searched: datetime

    @property
    def click_rate(self) -> float:
        return self.clicks / self.searches if self.searches else 0.0


@dataclass(frozen=True)
class SearchInsights:
    days: int
    since: datetime
    total_searches: int
    top: list[QueryStat]
    no_results: list[QueryStat]
    no_clicks: list[QueryStat]


def clamp_days(days: Any) -> int:
    try:
        value = int(days)
    except (TypeError, ValueError):
        return 30
    return min(max(value, 1), 365)


def _grouped(events: QuerySet[SearchEvent]) -> QuerySet[Any]:
    return (
        events.values("normalized")
        .annotate(
            searches=Count("pk"),
            users=Count("user", distinct=True),
            avg_results=Avg("result_count"),
            clicks=Count("clicked_at"),
            last_searched=Max("created_at"),
            example=Max("query"),
        )
        .order_by("-searches", "-last_searched", "normalized")
    )


def _stats(rows: QuerySet[Any]) -> list[QueryStat]:
    return [
        QueryStat(
            query=row["normalized"],
            example=row["example"],
            searches=row["searches"],
            users=row["users"],
            avg_results=float(row["avg_results"] or 0),
            clicks=row["clicks"],
            last_searched=row["last_searched"],
        )
        for row in rows
    ]


def search_insights(*, user: Any, days: int = 30, limit: int = REPORT_LIMIT) -> SearchInsights:
    """Top queries, queries that found nothing and queries whose results nobody opened, each
    grouped by the normalised query, most frequent first and capped at `limit` rows."""
    access.require(access.can_see_search_insights(user))
    days = clamp_days(days)
    since = timezone.now() - timedelta(days=days)
    events = SearchEvent.objects.filter(created_at__gte=since)
    # "No click": of the searches that showed results, not one led to a card being opened
    # (the results did not look like the answer).
    unopened = _grouped(events.filter(result_count__gt=0)).filter(clicks=0)
    return SearchInsights(
        days=days,
        since=since,
        total_searches=events.count(),
        top=_stats(_grouped(events)[:limit]),
        no_results=_stats(_grouped(events.filter(result_count=0))[:limit]),
        no_clicks=_stats(unopened[:limit]),
    )


# ---------------------------------------------------------------- requests to experts


def request_groups() -> QuerySet[Group]:
    """Groups a gap can be sent to (group names are not protected; every member may see them)."""
    return Group.objects.order_by("name")


def open_requests(*, user: Any, limit: int = REPORT_LIMIT) -> list[KnowledgeRequest]:
    """Open requests, then those answered in the last 30 days. `visible_card` is the card that
    answered, only when `user` can read it (a curator of one collection must not learn the
    titles of another's cards)."""
    access.require(access.can_see_search_insights(user))
    requests: list[KnowledgeRequest] = list(
        KnowledgeRequest.objects.select_related("group", "requested_by", "card")
        .filter(
            Q(status=KnowledgeRequest.Status.OPEN)
            | Q(answered_at__gte=timezone.now() - timedelta(days=30))
        )
        # Open requests first: they are the ones still waiting for somebody.
        .annotate(waiting=Case(When(status=KnowledgeRequest.Status.OPEN, then=0), default=1))
        .order_by("waiting", "-created_at", "-pk")[:limit]
    )
    card_ids = [r.card_id for r in requests if r.card_id is not None]
    readable = set(access.cards_for(user).filter(pk__in=card_ids).values_list("pk", flat=True))
    for knowledge_request in requests:
        knowledge_request.visible_card = (  # type: ignore[attr-defined]
            knowledge_request.card if knowledge_request.card_id in readable else None
        )
    return requests


@transaction.atomic
def create_request(*, user: User, query: str, group: Group, note: str = "") -> KnowledgeRequest:
    """Ask a group of experts to write the missing card; its members are emailed."""
    access.require(access.can_see_search_insights(user))
    query = " ".join(query.split())[:MAX_QUERY]
    if not query:
        raise ValidationError({"query": _("Say what the card should answer.")})
    knowledge_request = KnowledgeRequest.objects.create(
        query=query, group=group, note=note.strip()[:5000], requested_by=user
    )
    enqueue("search.notify_knowledge_request", request_id=knowledge_request.pk)
    return knowledge_request


def answerable_request(request_id: Any) -> KnowledgeRequest | None:
    """An open request by id (from a `?request=` link), or None."""
    try:
        pk = int(request_id)
    except (TypeError, ValueError):
        return None
    return KnowledgeRequest.objects.filter(pk=pk, status=KnowledgeRequest.Status.OPEN).first()


def request_answered(*, request_id: Any, card: Card) -> bool:
    """The card written for an open request answers it (called after the card is created);
    whoever asked is told by email, unless they wrote the card themselves."""
    knowledge_request = answerable_request(request_id)
    if knowledge_request is None:
        return False
    updated = KnowledgeRequest.objects.filter(
        pk=knowledge_request.pk, status=KnowledgeRequest.Status.OPEN
    ).update(status=KnowledgeRequest.Status.ANSWERED, card=card, answered_at=timezone.now())
    if updated and knowledge_request.requested_by_id not in (None, card.owner_id):
        enqueue("search.notify_request_answered", request_id=knowledge_request.pk)
    return updated > 0


def request_dismiss(*, user: Any, knowledge_request: KnowledgeRequest) -> KnowledgeRequest:
    """Close a request nobody will answer (a duplicate, or the card exists after all)."""
    access.require(access.can_see_search_insights(user))
    if knowledge_request.status == KnowledgeRequest.Status.OPEN:
        knowledge_request.status = KnowledgeRequest.Status.DISMISSED
        knowledge_request.save(update_fields=["status"])
    return knowledge_request


def _send(user: User, subject_template: str, body_template: str, context: dict) -> None:
    language = user.language or settings.LANGUAGE_CODE
    with translation.override(language):
        context = {"user": user, "site_url": settings.SITE_URL, **context}
        subject = re.sub(r"\s+", " ", render_to_string(subject_template, context)).strip()
        body = render_to_string(body_template, context)
    send_mail(subject, body, None, [user.email])


@job("search.notify_knowledge_request")
def notify_knowledge_request(request_id: int) -> None:
    knowledge_request = (
        KnowledgeRequest.objects.select_related("group", "requested_by")
        .filter(pk=request_id)
        .first()
    )
    if knowledge_request is None:  # deleted with its group before the worker got to it
        return
    for person in knowledge_request.group.members.filter(is_active=True):
        _send(
            person,
            "search/email/request_subject.txt",
            "search/email/request_body.txt",
            {"request": knowledge_request},
        )


@job("search.notify_request_answered")
def notify_request_answered(request_id: int) -> None:
    knowledge_request = (
        KnowledgeRequest.objects.select_related("requested_by", "card", "group")
        .filter(pk=request_id, status=KnowledgeRequest.Status.ANSWERED)
        .first()
    )
    card = knowledge_request.card if knowledge_request is not None else None
    if knowledge_request is None or card is None:
        return  # the request or its card was deleted before the worker got to it
    person = knowledge_request.requested_by
    if person is None or not person.is_active or not person.email:
        return
    # The asker curates something, not necessarily the collection the card went to: name and
    # link the card only if they can read it; otherwise the request alone is news enough.
    readable = access.cards_for(person).filter(pk=card.pk).exists()
    _send(
        person,
        "search/email/answered_subject.txt",
        "search/email/answered_body.txt",
        {"request": knowledge_request, "card": card if readable else None},
    )


# ---------------------------------------------------------------- retention


def prune_search_events(now: datetime | None = None) -> int:
    """Delete searches older than VERITY_SEARCH_EVENT_DAYS; returns how many went."""
    cutoff = (now or timezone.now()) - timedelta(days=settings.VERITY_SEARCH_EVENT_DAYS)
    deleted, _per_model = SearchEvent.objects.filter(created_at__lt=cutoff).delete()
    return deleted


@periodic("search.prune_events", every=timedelta(days=1))
def prune_events_daily() -> None:
    prune_search_events()
