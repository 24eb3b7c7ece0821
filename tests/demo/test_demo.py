"""The Northwind Cloud demo: ~150 cards, ~30 in Russian, a mix of states, people in every
team, idempotent with --once, and every card searchable by the people who may read it."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db.models import Count
from django.urls import reverse
from django.utils import timezone

from tests.web.helpers import client_for
from verity.accounts import access
from verity.accounts.models import Group, JobFunction, User
from verity.core.demo.searches import SearchHistory
from verity.core.models import Job
from verity.knowledge.models import (
    Card,
    CardVersion,
    Collection,
    Favorite,
    Flag,
    Folder,
    VerificationReason,
    VerificationState,
)
from verity.search import analytics
from verity.search.backends import get_backend
from verity.search.models import KnowledgeRequest, SearchEvent
from verity.search.services import search_cards

CYRILLIC = re.compile("[\\u0400-\\u04ff]")


@pytest.fixture(scope="module")
def demo(django_db_setup, django_db_blocker) -> Iterator[str]:
    """Load the demo once for the module (it takes several seconds), then clean up."""
    with django_db_blocker.unblock():
        out = StringIO()
        call_command("demo", "load", "--once", stdout=out)
        yield out.getvalue()
        call_command("flush", "--noinput", verbosity=0)
        get_backend().clear()


def test_load_reports_what_it_loaded(demo, db):
    assert "Loaded the Northwind Cloud demo" in demo
    assert "154 cards" in demo
    assert re.search(r"\d{3} searches of the last month", demo)
    assert "3 training programs" in demo


def test_about_150_cards_about_30_in_russian(demo, db):
    cards = list(Card.objects.all())
    assert 140 <= len(cards) <= 160
    russian = [c for c in cards if CYRILLIC.search(c.title)]
    assert 25 <= len(russian) <= 35
    assert len({c.title for c in cards}) == len(cards)  # distinct documents, not copies
    assert all(len(c.content) > 200 for c in cards)
    per_collection = Counter(c.collection.name for c in cards)
    assert set(per_collection) == {
        "Sales Playbook",
        "Customer Success",
        "Support Runbooks",
        "Company Handbook",
    }
    assert min(per_collection.values()) >= 15
    # Real Markdown: tables, headings and lists render.
    html = " ".join(c.content_html for c in cards)
    assert html.count("<table>") >= 20 and html.count("<h2>") >= 50 and "<strong>" in html


def test_a_realistic_mix_of_states(demo, db):
    states = Counter(Card.objects.values_list("verification_state", flat=True))
    total = sum(states.values())
    assert states[VerificationState.VERIFIED] > total / 2
    assert states[VerificationState.UNVERIFIED] >= 5
    reasons = Counter(
        Card.objects.filter(verification_state=VerificationState.NEEDS_VERIFICATION).values_list(
            "verification_reason", flat=True
        )
    )
    for reason in (
        VerificationReason.EXPIRED,
        VerificationReason.FLAGGED,
        VerificationReason.EDITED,
    ):
        assert reasons[reason] >= 3, reason
    open_flags = Flag.objects.filter(resolved_at=None)
    assert open_flags.count() == reasons[VerificationReason.FLAGGED]
    assert all(f.comment for f in open_flags)
    # Verified at various dates, and due dates consistent with the interval.
    verified = Card.objects.filter(verification_state=VerificationState.VERIFIED)
    assert len({c.last_verified_at.date() for c in verified}) > 30
    for card in Card.objects.filter(verification_reason=VerificationReason.EXPIRED):
        assert card.next_verification_at < card.needs_verification_since or (
            card.next_verification_at == card.needs_verification_since
        )
    # Some cards were edited several times.
    multi = Card.objects.annotate(n=Count("versions")).filter(n__gte=3)
    assert multi.count() >= 3
    assert CardVersion.objects.exclude(note="").exists()
    assert Favorite.objects.count() >= 50
    # The demo's old flags do not fire notification emails at first start.
    assert not Job.objects.filter(name="knowledge.notify_flag", state=Job.State.QUEUED).exists()


def test_people_teams_and_access(demo, db, settings):
    users = User.objects.filter(email__endswith="@northwind.example")
    functions = set(users.values_list("job_function", flat=True))
    assert functions == {
        JobFunction.SALES,
        JobFunction.SUCCESS,
        JobFunction.SUPPORT,
        JobFunction.LEADERSHIP,
        JobFunction.ENABLEMENT,
        JobFunction.OTHER,
    }
    assert users.filter(manager__isnull=False).count() >= users.count() - 3
    hires = sorted(users.values_list("hire_date", flat=True))
    assert (hires[-1] - hires[0]).days > 600
    assert users.filter(language="ru").count() >= 4
    assert set(Group.objects.values_list("name", flat=True)) >= {
        "Sales",
        "Customer Success",
        "Support",
        "Leadership",
        "Enablement",
        "Sales SMEs",
        "Success SMEs",
        "Support SMEs",
    }
    assert Folder.objects.filter(parent__isnull=False).exists()
    rep = users.get(email="ava.thompson@northwind.example")
    agent = users.get(email="ben.walker@northwind.example")
    assert rep.check_password("verity-demo")
    assert len(set(users.values_list("password", flat=True))) == 1  # one shared demo password
    readable = set(access.collections_for(rep).values_list("name", flat=True))
    assert "Support Runbooks" not in readable and "Sales Playbook" in readable
    assert "Sales Playbook" not in set(access.collections_for(agent).values_list("name", flat=True))
    curator = users.get(email="priya.raman@northwind.example")
    assert access.collections_for(curator, "curate").count() == Collection.objects.count()


def test_every_card_is_searchable_by_its_readers_only(demo, db):
    admin = User.objects.get(email="admin@northwind.example")
    outsider = User.objects.create_user("stranger@example.com", "x")
    for card in Card.objects.all():
        hits = search_cards(user=admin, query=card.title, limit=50)
        assert card.pk in {r.card.pk for r in hits.results}, card.title
    assert search_cards(user=outsider, query="discount").total == 0
    rep = User.objects.get(email="ava.thompson@northwind.example")
    found = search_cards(user=rep, query="escalation", limit=100).results
    assert found and all(r.card.collection.name != "Support Runbooks" for r in found)
    assert search_cards(user=rep, query="многолетние").total >= 1


def test_load_once_again_does_nothing(demo, db):
    before = (Card.objects.count(), CardVersion.objects.count(), User.objects.count())
    out = StringIO()
    call_command("demo", "load", "--once", stdout=out)
    assert "already loaded" in out.getvalue()
    assert (Card.objects.count(), CardVersion.objects.count(), User.objects.count()) == before
    with pytest.raises(CommandError, match="already loaded"):
        call_command("demo", "load", stdout=StringIO())


def test_logins_table(demo, db):
    out = StringIO()
    call_command("demo", "logins", stdout=out)
    text = out.getvalue()
    assert "admin@northwind.example" in text and "verity-demo" in text
    assert "Enablement lead (curator)" in text and "Account executive" in text


def test_a_month_of_searches_fills_the_insights_page(demo, db):
    curator = User.objects.get(email="priya.raman@northwind.example")
    report = analytics.search_insights(user=curator, days=30)
    assert 300 <= report.total_searches <= 600
    assert len(report.top) >= 30 and len(report.no_results) >= 5 and len(report.no_clicks) >= 5
    # Both languages, from many people, and a realistic share of opened results.
    queries = {row.query for row in report.top}
    assert "discount approval" in queries and any(CYRILLIC.search(q) for q in queries)
    assert any(CYRILLIC.search(row.query) for row in report.no_results)
    assert SearchEvent.objects.values("user").distinct().count() >= 20
    opened = SearchEvent.objects.filter(clicked_at__isnull=False).count()
    assert 0.4 < opened / report.total_searches < 0.9
    # A week holds roughly a quarter of the month: the searches are spread over it.
    week = analytics.search_insights(user=curator, days=7).total_searches
    assert 0.1 < week / report.total_searches < 0.45
    assert KnowledgeRequest.objects.filter(status="open").count() == 2
    # The requests are history: they queue no emails to the experts.
    assert not Job.objects.filter(name="search.notify_knowledge_request").exists()

    html = client_for(curator).get(reverse("search_insights")).content.decode()
    assert html.count('class="insights-query"') >= 40
    assert "hipaa baa" in html and "эдо диадок" in html
    assert 'id="request-' in html


def test_demo_searches_are_true_and_respect_access(demo, db):
    """The counts are what the search really answers the person, and nobody opened a card
    they cannot read."""
    events = SearchEvent.objects.select_related("user").order_by("pk")
    for event in events[::7]:
        found = search_cards(user=event.user, query=event.query, limit=5, use_semantic=False)
        assert found.total == event.result_count, event.query
    for event in events.filter(clicked_card__isnull=False):
        assert access.cards_for(event.user).filter(pk=event.clicked_card_id).exists()
        assert event.result_count > 0 and event.clicked_at > event.created_at
    assert not events.filter(result_count=0, clicked_card__isnull=False).exists()


def test_demo_searches_are_the_same_every_time(demo, db):
    people = list(User.objects.filter(email__endswith="@northwind.example"))
    now = timezone.now()

    def history() -> list[tuple]:
        events = SearchHistory(users=people, now=now, seed=7).events()
        return [
            (e.user_id, e.query, e.result_count, e.clicked_card_id, e.created_at) for e in events
        ]

    first = history()
    assert first == history()
    assert all(now - timedelta(days=30) < row[4] < now for row in first)
