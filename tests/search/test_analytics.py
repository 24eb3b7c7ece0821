"""Search analytics: recording searches and clicks, the gap reports, who may read them, and
turning a gap into a request to a group of experts."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from hypothesis import HealthCheck, given
from hypothesis import settings as examples

from tests.knowledge.test_permissions_property import build, rolled_back, worlds
from tests.web.helpers import client_for
from verity.accounts import access
from verity.accounts.models import Group, User
from verity.accounts.services import token_create
from verity.core import jobs
from verity.core.models import Job
from verity.knowledge import services
from verity.knowledge.models import AccessRole, Card
from verity.search import analytics
from verity.search.models import KnowledgeRequest, SearchEvent

pytestmark = pytest.mark.django_db


def api_client(user):
    _, raw = token_create(user=user, name="tests")
    return {"HTTP_AUTHORIZATION": f"Bearer {raw}"}


def record(user, query: str, results: int = 1, source: str = "web", **extra):
    return analytics.record_search(
        user=user,
        query=query,
        filters=extra.pop("filters", {}),
        result_count=results,
        source=source,
        **extra,
    )


def age(event: SearchEvent, **delta: float) -> None:
    SearchEvent.objects.filter(pk=event.pk).update(created_at=timezone.now() - timedelta(**delta))


# ---------------------------------------------------------------- recording


def test_normalize_collapses_case_and_spacing() -> None:
    assert analytics.normalize("  Pricing\t  SSO \n") == "pricing sso"
    assert analytics.normalize("ШЛЮЗ   ДЛЯ") == "шлюз для"


def test_search_is_recorded_with_its_filters(cast) -> None:
    event = record(
        cast.sales_reader,
        " Discount  rules ",
        results=3,
        took_ms=12,
        filters={"collection_id": 5, "tag": None, "state": ""},
    )
    event.refresh_from_db()
    assert event.user == cast.sales_reader
    assert event.query == "Discount rules"
    assert event.normalized == "discount rules"
    assert event.filters == {"collection_id": 5}
    assert (event.result_count, event.took_ms, event.source) == (3, 12, "web")
    assert event.clicked_at is None


def test_empty_query_is_not_recorded(cast) -> None:
    assert record(cast.sales_reader, "   ") is None
    assert not SearchEvent.objects.exists()


def test_typing_collapses_into_one_event(cast) -> None:
    for partial in ("dis", "disc", "discount", "discount ru", "discount rules"):
        last = record(cast.sales_reader, partial, results=len(partial))
    assert SearchEvent.objects.count() == 1
    last.refresh_from_db()
    assert last.query == "discount rules"
    assert last.result_count == len("discount rules")
    # Deleting back to a prefix is the same question too.
    record(cast.sales_reader, "discount")
    assert SearchEvent.objects.get().normalized == "discount"


def test_new_event_when_not_a_continuation(cast) -> None:
    first = record(cast.sales_reader, "discount")
    record(cast.sales_reader, "refund")  # a different question
    assert SearchEvent.objects.count() == 2
    record(cast.support_reader, "refunds")  # another person
    record(cast.sales_reader, "refunds", source="api")  # another client
    assert SearchEvent.objects.count() == 4
    assert SearchEvent.objects.filter(pk=first.pk, normalized="discount").exists()


def test_new_event_after_the_pause_or_after_a_click(cast) -> None:
    event = record(cast.sales_reader, "discount")
    age(event, seconds=31)
    record(cast.sales_reader, "discount rules")
    assert SearchEvent.objects.count() == 2

    clicked = SearchEvent.objects.latest("pk")
    assert analytics.record_click(
        user=cast.sales_reader, event_id=clicked.pk, card_id=cast.sales_card.pk, rank=1
    )
    record(cast.sales_reader, "discount rules approval")
    assert SearchEvent.objects.count() == 3
    clicked.refresh_from_db()
    assert clicked.normalized == "discount rules"  # the opened search is not rewritten


def test_click_is_recorded_once_by_the_searcher_only(cast) -> None:
    event = record(cast.sales_reader, "discount")
    card = cast.sales_card
    # Somebody else cannot mark it, even with a card they can read.
    assert not analytics.record_click(user=cast.author, event_id=event.pk, card_id=card.pk, rank=1)
    assert analytics.record_click(
        user=cast.sales_reader, event_id=event.pk, card_id=card.pk, rank=2
    )
    event.refresh_from_db()
    assert (event.clicked_card_id, event.clicked_rank) == (card.pk, 2)
    assert event.clicked_at is not None
    # The first opened result is the one that counts.
    assert not analytics.record_click(
        user=cast.sales_reader, event_id=event.pk, card_id=card.pk, rank=5
    )
    event.refresh_from_db()
    assert event.clicked_rank == 2


def test_click_on_unreadable_card_is_not_recorded(cast) -> None:
    event = record(cast.sales_reader, "refund")
    assert not analytics.record_click(
        user=cast.sales_reader, event_id=event.pk, card_id=cast.support_card.pk, rank=1
    )
    event.refresh_from_db()
    assert event.clicked_card_id is None


# ---------------------------------------------------------------- the search page


def test_search_page_records_and_links_through_click_counter(cast) -> None:
    client = client_for(cast.sales_reader)
    html = client.get(reverse("search"), {"q": "Discount"}).content.decode()
    event = SearchEvent.objects.get()
    assert (event.normalized, event.result_count, event.source) == ("discount", 1, "web")
    click_url = reverse("search_click", args=[event.pk, cast.sales_card.pk])
    assert f'href="{click_url}?rank=1"' in html

    response = client.get(click_url, {"rank": "1"})
    assert response.status_code == 302
    assert response["Location"] == reverse("card_detail", args=[cast.sales_card.pk])
    event.refresh_from_db()
    assert (event.clicked_card_id, event.clicked_rank) == (cast.sales_card.pk, 1)


def test_search_without_results_is_recorded(cast) -> None:
    client_for(cast.outsider).get(reverse("search"), {"q": "discount"})
    assert SearchEvent.objects.get().result_count == 0


def test_click_endpoint_does_not_open_unreadable_cards(cast) -> None:
    event = record(cast.sales_reader, "refund", results=0)
    client = client_for(cast.sales_reader)
    response = client.get(reverse("search_click", args=[event.pk, cast.support_card.pk]))
    assert response.status_code == 302
    assert client.get(response["Location"]).status_code == 404  # the card page decides
    event.refresh_from_db()
    assert event.clicked_card_id is None


def test_click_endpoint_ignores_other_peoples_searches(cast) -> None:
    event = record(cast.sales_reader, "discount")
    client_for(cast.author).get(reverse("search_click", args=[event.pk, cast.sales_card.pk]))
    event.refresh_from_db()
    assert event.clicked_at is None


# ---------------------------------------------------------------- reports


def test_reports_group_by_normalized_query(cast) -> None:
    users = [cast.sales_reader, cast.support_reader, cast.author]
    for user, spelling in zip(users, ["SSO price", "sso  price", "Sso Price"], strict=True):
        record(user, spelling, results=0)
    record(cast.sales_reader, "discount", results=2)
    record(cast.support_reader, "discount", results=4)
    event = record(cast.author, "discount", results=3)
    analytics.record_click(user=cast.author, event_id=event.pk, card_id=cast.sales_card.pk, rank=1)
    record(cast.author, "refund", results=1)

    report = analytics.search_insights(user=cast.curator, days=30)
    assert report.total_searches == 7
    assert [(r.query, r.searches, r.users) for r in report.top] == [
        ("discount", 3, 3),
        ("sso price", 3, 3),
        ("refund", 1, 1),
    ]
    discount = report.top[0]
    assert discount.avg_results == pytest.approx(3.0)
    assert discount.clicks == 1
    assert discount.click_rate == pytest.approx(1 / 3)
    assert [(r.query, r.searches) for r in report.no_results] == [("sso price", 3)]
    assert report.no_results[0].example in {"SSO price", "sso price", "Sso Price"}
    # "discount" was opened once, so only "refund" is a query nobody opened.
    assert [r.query for r in report.no_clicks] == ["refund"]


def test_reports_cover_only_the_period(cast) -> None:
    old = record(cast.sales_reader, "old question", results=0)
    age(old, days=10)
    record(cast.sales_reader, "new question", results=0)
    assert [r.query for r in analytics.search_insights(user=cast.admin, days=7).no_results] == [
        "new question"
    ]
    assert {r.query for r in analytics.search_insights(user=cast.admin, days=30).no_results} == {
        "new question",
        "old question",
    }


def test_reports_are_capped(cast) -> None:
    for i in range(5):
        record(cast.sales_reader, f"gap {i}", results=0)
    report = analytics.search_insights(user=cast.admin, limit=3)
    assert len(report.no_results) == 3
    assert report.total_searches == 5


def test_readers_cannot_read_reports(cast) -> None:
    for user in (cast.sales_reader, cast.author, cast.manager, cast.outsider):
        with pytest.raises(PermissionDenied):
            analytics.search_insights(user=user)


# ---------------------------------------------------------------- the insights page


@pytest.mark.parametrize("who", ["admin", "curator"])
def test_curators_and_admins_see_insights(cast, who) -> None:
    record(cast.sales_reader, "Zenith SSO fee", results=0)
    client = client_for(getattr(cast, who))
    home = client.get(reverse("home")).content.decode()
    assert reverse("search_insights") in home  # linked in the navigation
    response = client.get(reverse("search_insights"))
    assert response.status_code == 200
    html = response.content.decode()
    assert "zenith sso fee" in html
    assert "?title=Zenith%20SSO%20fee" in html  # "Write the card" prefills the title
    # Queries and counts only: never who searched.
    assert cast.sales_reader.email not in html
    assert cast.sales_reader.name not in html


@pytest.mark.parametrize("who", ["sales_reader", "author", "manager", "outsider"])
def test_others_cannot_see_insights(cast, who) -> None:
    client = client_for(getattr(cast, who))
    assert reverse("search_insights") not in client.get(reverse("home")).content.decode()
    assert client.get(reverse("search_insights")).status_code == 403
    assert client.get(reverse("search_insights_ask")).status_code == 403
    response = client.post(
        reverse("search_insights_ask"), {"query": "x", "group": cast.sales.pk, "note": ""}
    )
    assert response.status_code == 403
    assert not KnowledgeRequest.objects.exists()


def test_anonymous_is_sent_to_sign_in(cast) -> None:
    response = Client().get(reverse("search_insights"))
    assert response.status_code == 302
    assert "/login/" in response["Location"]


def test_period_switch(cast) -> None:
    old = record(cast.sales_reader, "ancient gap", results=0)
    age(old, days=40)
    client = client_for(cast.curator)
    html = client.get(reverse("search_insights"), {"days": 30}).content.decode()
    assert "ancient gap" not in html
    html = client.get(reverse("search_insights"), {"days": 90}).content.decode()
    assert "ancient gap" in html
    assert 'href="?days=90" aria-current="page"' in html
    assert client.get(reverse("search_insights"), {"days": "x"}).status_code == 200


# ---------------------------------------------------------------- the API


def test_api_search_returns_search_id_and_records_clicks(cast) -> None:
    client = Client()
    headers = api_client(cast.sales_reader)
    body = client.get("/api/v1/search", {"q": "discount"}, **headers).json()
    event = SearchEvent.objects.get(pk=body["search_id"])
    assert (event.source, event.result_count, event.user) == ("api", 1, cast.sales_reader)

    url = f"/api/v1/search/{event.pk}/click"
    payload = json.dumps({"card_id": cast.sales_card.pk, "rank": 1})
    response = client.post(url, payload, content_type="application/json", **headers)
    assert response.status_code == 204
    event.refresh_from_db()
    assert (event.clicked_card_id, event.clicked_rank) == (cast.sales_card.pk, 1)


def test_api_click_on_others_search_or_unreadable_card_is_not_found(cast) -> None:
    client = Client()
    event = record(cast.sales_reader, "discount", source="api")
    payload = json.dumps({"card_id": cast.sales_card.pk, "rank": 1})
    response = client.post(
        f"/api/v1/search/{event.pk}/click",
        payload,
        content_type="application/json",
        **api_client(cast.author),
    )
    assert response.status_code == 404
    response = client.post(
        f"/api/v1/search/{event.pk}/click",
        json.dumps({"card_id": cast.support_card.pk}),
        content_type="application/json",
        **api_client(cast.sales_reader),
    )
    assert response.status_code == 404
    event.refresh_from_db()
    assert event.clicked_at is None


def test_api_empty_search_has_no_search_id(cast) -> None:
    body = Client().get("/api/v1/search", {"q": ""}, **api_client(cast.sales_reader)).json()
    assert body["search_id"] is None


def test_api_insights_for_curators_only(cast) -> None:
    record(cast.sales_reader, "zenith", results=0)
    client = Client()
    response = client.get("/api/v1/search/insights", {"days": 7}, **api_client(cast.curator))
    assert response.status_code == 200
    body = response.json()
    assert body["days"] == 7
    assert [row["query"] for row in body["no_results"]] == ["zenith"]
    assert body["no_results"][0]["searches"] == 1
    assert "user" not in json.dumps(body["no_results"][0]).replace('"users"', "")
    for who in (cast.sales_reader, cast.outsider):
        assert client.get("/api/v1/search/insights", **api_client(who)).status_code == 403
    assert client.get("/api/v1/search/insights").status_code == 401


# ---------------------------------------------------------------- requests to experts


def test_ask_an_sme_group_emails_members_in_their_language(
    cast, django_capture_on_commit_callbacks
) -> None:
    cast.author.language = "ru"
    cast.author.save(update_fields=["language"])
    cast.sales.members.add(cast.outsider)
    cast.outsider.is_active = False
    cast.outsider.save(update_fields=["is_active"])

    client = client_for(cast.curator)
    form = client.get(reverse("search_insights_ask"), {"q": "Zenith SSO fee"}).content.decode()
    assert 'value="Zenith SSO fee"' in form
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("search_insights_ask"),
            {"query": "Zenith SSO fee", "group": cast.sales.pk, "note": "Asked twice this week"},
        )
    assert response.status_code == 302
    request = KnowledgeRequest.objects.get()
    assert (request.query, request.group, request.requested_by) == (
        "Zenith SSO fee",
        cast.sales,
        cast.curator,
    )
    assert request.status == "open"

    # Active members of Sales get one email each; the deactivated member gets none.
    recipients = sorted(m.to[0] for m in mail.outbox)
    assert recipients == sorted([cast.sales_reader.email, cast.author.email, cast.manager.email])
    russian = next(m for m in mail.outbox if m.to == [cast.author.email])
    english = next(m for m in mail.outbox if m.to == [cast.sales_reader.email])
    assert "Zenith SSO fee" in english.subject
    assert "Asked twice this week" in english.body
    assert f"/cards/new/?title=Zenith%20SSO%20fee&request={request.pk}" in english.body
    # Each in the reader's language (the greeting is a string every release translates).
    assert english.body.startswith("Hello Sales,")
    assert russian.body.startswith("Здравствуйте, Author!")

    html = client.get(reverse("search_insights")).content.decode()
    assert f'id="request-{request.pk}"' in html


def test_ask_form_needs_a_group(cast) -> None:
    response = client_for(cast.curator).post(
        reverse("search_insights_ask"), {"query": "Zenith", "group": "", "note": ""}
    )
    assert response.status_code == 200
    assert 'class="field-error"' in response.content.decode()
    assert not KnowledgeRequest.objects.exists()


def test_card_written_for_a_request_answers_it(cast) -> None:
    request = analytics.create_request(
        user=cast.curator, query="zenith sso fee", group=cast.sales, note=""
    )
    client = client_for(cast.author)
    url = f"{reverse('card_create')}?title=Zenith+SSO+fee&request={request.pk}"
    form = client.get(url).content.decode()
    assert 'value="Zenith SSO fee"' in form  # the title is prefilled
    response = client.post(
        url,
        {
            "title": "Zenith SSO fee",
            "collection": cast.sales_collection.pk,
            "content": "Zenith charges for SSO.",
            "tags": "",
            "verifier": f"user:{cast.author.pk}",
            "interval": "90",
            "version": "",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    card = Card.objects.get(title="Zenith SSO fee")
    request.refresh_from_db()
    assert request.status == "answered"
    assert request.card == card
    assert request.answered_at is not None


CARD_FORM = {
    "title": "Zenith SSO fee",
    "content": "Zenith charges for SSO.",
    "tags": "",
    "interval": "90",
    "version": "",
}


def test_requester_is_emailed_in_their_language_when_answered(
    cast, django_capture_on_commit_callbacks, settings
) -> None:
    settings.VERITY_RUN_JOBS_INLINE = False  # the email goes through the job queue
    cast.curator.language = "ru"
    cast.curator.save(update_fields=["language"])
    request = analytics.create_request(user=cast.curator, query="zenith sso fee", group=cast.sales)
    Job.objects.all().delete()  # the request's own emails to the group are not under test
    mail.outbox.clear()

    url = f"{reverse('card_create')}?request={request.pk}"
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(cast.author).post(
            url,
            {
                **CARD_FORM,
                "collection": cast.sales_collection.pk,
                "verifier": f"user:{cast.author.pk}",
            },
        )
    assert response.status_code == 302
    card = Card.objects.get(title="Zenith SSO fee")
    job = Job.objects.get(name="search.notify_request_answered")
    assert job.payload == {"request_id": request.pk}
    assert mail.outbox == []  # nothing is sent in the request: the worker sends it

    assert jobs.run_job(jobs.claim_next())
    [email] = mail.outbox
    assert email.to == [cast.curator.email]
    assert "zenith sso fee" in email.subject
    assert email.body.startswith("Здравствуйте, Curator!")
    assert "Zenith SSO fee" in email.body
    assert f"/cards/{card.pk}/" in email.body


def answered(request: KnowledgeRequest, card: Card, capture) -> bool:
    """Answer the request and run what it queued at commit (the email job runs inline)."""
    with capture(execute=True):
        return analytics.request_answered(request_id=request.pk, card=card)


def test_answer_email_hides_a_card_the_requester_cannot_read(
    cast, django_capture_on_commit_callbacks
) -> None:
    # A curator of the Support collection asks; the answer lands in Sales, which they cannot read.
    support_curator = cast.outsider
    group = Group.objects.create(name="Support curators")
    group.members.add(support_curator)
    services.collection_grant(
        user=cast.admin, collection=cast.support_collection, group=group, role="curate"
    )
    request = analytics.create_request(user=support_curator, query="discounts", group=cast.sales)
    assert answered(request, cast.sales_card, django_capture_on_commit_callbacks)
    [email] = mail.outbox
    assert email.to == [support_curator.email]
    assert cast.sales_card.title not in email.subject + email.body
    assert f"/cards/{cast.sales_card.pk}/" not in email.body
    assert "/search/insights/#requests" in email.body


def test_no_answer_email_to_who_wrote_the_card_or_left(
    cast, django_capture_on_commit_callbacks
) -> None:
    capture = django_capture_on_commit_callbacks
    # Somebody else's request is answered: the email goes out (so the cases below can fail).
    other = analytics.create_request(user=cast.admin, query="refunds & credits", group=cast.support)
    assert answered(other, cast.support_card, capture)
    assert [m.to for m in mail.outbox] == [[cast.admin.email]]
    assert "“refunds & credits”" in mail.outbox[0].subject  # plain text, not HTML-escaped
    mail.outbox.clear()
    # The curator answered their own request: they know.
    own = analytics.create_request(user=cast.curator, query="refund rules", group=cast.support)
    assert answered(own, cast.support_card, capture)
    assert mail.outbox == []
    # The requester has left the company by the time the card is written.
    request = analytics.create_request(user=cast.admin, query="discounts", group=cast.sales)
    cast.admin.is_active = False
    cast.admin.save(update_fields=["is_active"])
    assert answered(request, cast.sales_card, capture)
    assert mail.outbox == []
    # Answering twice sends nothing twice.
    cast.admin.is_active = True
    cast.admin.save(update_fields=["is_active"])
    assert not answered(request, cast.sales_card, capture)
    assert mail.outbox == []


def test_answered_card_title_is_shown_only_to_who_can_read_it(cast) -> None:
    # A curator of the Support collection only.
    support_curator = cast.outsider
    group = Group.objects.create(name="Support curators")
    group.members.add(support_curator)
    services.collection_grant(
        user=cast.admin, collection=cast.support_collection, group=group, role="curate"
    )
    request = analytics.create_request(user=cast.admin, query="discounts", group=cast.sales)
    analytics.request_answered(request_id=request.pk, card=cast.sales_card)

    html = client_for(cast.curator).get(reverse("search_insights")).content.decode()
    assert cast.sales_card.title in html
    html = client_for(support_curator).get(reverse("search_insights")).content.decode()
    assert f'id="request-{request.pk}"' in html
    assert cast.sales_card.title not in html


def test_dismiss_request(cast) -> None:
    request = analytics.create_request(user=cast.curator, query="zenith", group=cast.sales)
    url = reverse("search_request_dismiss", args=[request.pk])
    assert client_for(cast.sales_reader).post(url).status_code == 403
    assert client_for(cast.curator).post(url).status_code == 302
    request.refresh_from_db()
    assert request.status == "dismissed"
    # An answered or dismissed request cannot be answered again.
    assert not analytics.request_answered(request_id=request.pk, card=cast.sales_card)


# ---------------------------------------------------------------- retention


def test_old_search_events_are_deleted(cast, settings) -> None:
    settings.VERITY_SEARCH_EVENT_DAYS = 30
    old = record(cast.sales_reader, "old", results=0)
    age(old, days=31)
    recent = record(cast.support_reader, "recent", results=0)
    age(recent, days=29)
    assert analytics.prune_search_events() == 1
    assert list(SearchEvent.objects.values_list("normalized", flat=True)) == ["recent"]


def test_prune_runs_as_a_periodic_job() -> None:
    from verity.core.jobs import _periodic

    assert "search.prune_events" in {entry.name for entry in _periodic}


# ---------------------------------------------------------------- permissions as a property


@examples(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(world=worlds())
def test_insights_never_show_an_unreadable_card(world: dict) -> None:
    """For random groups, grants and users: only admins and curators reach the insights, a
    request's answering card is shown only to who can read it, and nobody can record a click
    on a card they cannot read."""
    with rolled_back():
        users, cards, readable = build(world)
        group = Group.objects.create(name="experts")
        for card in cards:
            knowledge_request = KnowledgeRequest.objects.create(query=card.title, group=group)
            analytics.request_answered(request_id=knowledge_request.pk, card=card)
        for u, user in enumerate(users):
            curates = world["admins"][u] or any(
                world["members"][u][g] and grants[g] == AccessRole.CURATE
                for grants in world["grants"]
                for g in range(len(grants))
            )
            assert access.can_see_search_insights(user) == curates
            if curates:
                shown = {
                    r.visible_card.pk
                    for r in analytics.open_requests(user=user)
                    if r.visible_card is not None
                }
                assert shown == readable[user.pk]
            else:
                with pytest.raises(PermissionDenied):
                    analytics.open_requests(user=user)
            event = analytics.record_search(user=user, query="alpha", result_count=1)
            for card in cards:
                clicked = analytics.record_click(
                    user=user, event_id=event.pk, card_id=card.pk, rank=1
                )
                assert not clicked or card.pk in readable[user.pk]


# ---------------------------------------------------------------- Django admin


def test_django_admin_lists_events_read_only_without_names(cast) -> None:
    event = record(cast.sales_reader, "zenith sso fee", results=0)
    request = analytics.create_request(user=cast.curator, query="zenith sso fee", group=cast.sales)
    superuser = User.objects.create_superuser("root@example.com", "pw")
    client = client_for(superuser)

    listing = client.get(reverse("admin:search_searchevent_changelist"))
    assert listing.status_code == 200
    assert "zenith sso fee" in listing.content.decode()
    detail = client.get(reverse("admin:search_searchevent_change", args=[event.pk]))
    assert detail.status_code == 200
    html = detail.content.decode()
    assert cast.sales_reader.email not in html and 'name="_save"' not in html
    # Nothing can be added or changed, only deleted.
    assert client.get(reverse("admin:search_searchevent_add")).status_code == 403
    client.post(reverse("admin:search_searchevent_change", args=[event.pk]), {"query": "changed"})
    event.refresh_from_db()
    assert event.query == "zenith sso fee"
    delete = reverse("admin:search_searchevent_delete", args=[event.pk])
    assert client.post(delete, {"post": "yes"}).status_code == 302
    assert not SearchEvent.objects.filter(pk=event.pk).exists()

    requests = client.get(reverse("admin:search_knowledgerequest_changelist"))
    assert requests.status_code == 200 and "zenith sso fee" in requests.content.decode()
    change = reverse("admin:search_knowledgerequest_change", args=[request.pk])
    assert client.get(change).status_code == 200
