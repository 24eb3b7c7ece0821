"""Duplicate cards: the editor is warned about an edited copy (by text, and by meaning when
vectors are on), the curators' report lists likely pairs, and a merge keeps one card while
old links and favourites follow it. Nobody ever sees a card they cannot read."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings

from tests.knowledge.test_permissions_property import build, rolled_back, worlds
from tests.web.helpers import HTMX, client_for
from verity.accounts import access
from verity.accounts.models import Group
from verity.knowledge import services
from verity.knowledge.models import (
    AccessRole,
    Card,
    CardVersion,
    DuplicateDismissal,
    DuplicatePair,
    Favorite,
)
from verity.search import duplicates, semantic

pytestmark = pytest.mark.django_db

RETURNS_TITLE = "Handling a request to return hardware"
RETURNS_BODY = """\
When a customer asks to send hardware back, check the purchase date first.

## Within 30 days

Create a return authorisation in the billing console and email the customer the shipping
label. The refund is issued once the warehouse confirms the device arrived undamaged.

## After 30 days

Returns are only accepted for defective devices. Open a support ticket, attach the serial
number and the customer's description of the fault, and escalate to the hardware team.

Never promise a refund before the warehouse inspection is complete.
"""

# The same answer, edited: a new title word, some words changed, a sentence added.
EDITED_TITLE = "Handling a customer request to return hardware"
EDITED_BODY = """\
When a customer wants to send hardware back, check the purchase date first.

## Within 30 days

Create a return authorisation in the billing console and email the customer the prepaid
shipping label. The refund is issued once the warehouse confirms the device arrived intact.

## After 30 days

Returns are only accepted for faulty devices. Open a support ticket, attach the serial
number and the customer's description of the fault, and escalate to the hardware team.

Never promise a refund before the warehouse inspection is complete. Ask your lead if unsure.
"""

# Shares a word or two ("customer", "ticket") and nothing else.
UNRELATED_TITLE = "Booking the quarterly business review"
UNRELATED_BODY = """\
Send the agenda a week ahead. Invite the customer's executive sponsor, review adoption
numbers and agree on two goals for the next quarter. Log the meeting on the account.
"""


def make_card(user: Any, collection: Any, title: str, body: str) -> Card:
    return services.card_create(user=user, collection=collection, title=title, content=body)


@pytest.fixture
def returns_card(cast: Any) -> Card:
    return make_card(cast.curator, cast.support_collection, RETURNS_TITLE, RETURNS_BODY)


@pytest.fixture
def unrelated_card(cast: Any) -> Card:
    return make_card(cast.curator, cast.support_collection, UNRELATED_TITLE, UNRELATED_BODY)


@pytest.fixture
def copy_card(cast: Any, returns_card: Card) -> Card:
    """Someone saved the edited copy anyway (for the report and merges)."""
    return make_card(cast.curator, cast.support_collection, EDITED_TITLE, EDITED_BODY)


@pytest.fixture
def sales_curator(cast: Any) -> Any:
    """Curates the Sales Playbook only: cannot read the Support Runbooks at all."""
    from tests.conftest import make_user

    user = make_user("sales-curator@example.com")
    group = Group.objects.create(name="Sales curators")
    group.members.add(user)
    services.collection_grant(
        user=cast.admin, collection=cast.sales_collection, group=group, role="curate"
    )
    return user


def ids(similar: list[duplicates.SimilarCard]) -> list[int]:
    return [s.card.pk for s in similar]


# ---------------------------------------------------------------- similarity itself


def test_text_similarity_of_copies_and_strangers() -> None:
    original = duplicates.fingerprint(RETURNS_TITLE, RETURNS_BODY)
    edited = duplicates.fingerprint(EDITED_TITLE, EDITED_BODY)
    stranger = duplicates.fingerprint(UNRELATED_TITLE, UNRELATED_BODY)
    assert duplicates.text_similarity(original, original) == 1.0
    assert duplicates.text_similarity(original, edited) >= duplicates.LIKELY_AT
    assert duplicates.text_similarity(original, stranger) < duplicates.SHOW_AT
    # Symmetric, so the report's pairs do not depend on which card came first.
    assert duplicates.text_similarity(original, edited) == duplicates.text_similarity(
        edited, original
    )


def test_a_copy_with_a_paragraph_added_is_still_a_copy() -> None:
    original = duplicates.fingerprint(RETURNS_TITLE, RETURNS_BODY)
    longer = duplicates.fingerprint(RETURNS_TITLE, RETURNS_BODY + "\n\n" + UNRELATED_BODY)
    assert duplicates.text_similarity(original, longer) >= duplicates.LIKELY_AT


def test_meaning_only_raises_the_score_when_the_vectors_are_very_close() -> None:
    assert duplicates.combined_score(0.2, None) == 0.2
    assert duplicates.combined_score(0.2, 0.85) == 0.2  # siblings on a subject: no help
    assert duplicates.combined_score(0.2, 0.99) == pytest.approx(0.6)  # a rewording
    assert duplicates.combined_score(0.8, 0.85) == 0.8  # never lowers the text's score


# ---------------------------------------------------------------- the editor's panel


def test_edited_copy_is_flagged(cast: Any, returns_card: Card, unrelated_card: Card) -> None:
    similar = duplicates.similar_cards(cast.support_reader, title=EDITED_TITLE, body=EDITED_BODY)
    assert similar, "the edited copy should find its original"
    first = similar[0]
    assert first.card.pk == returns_card.pk
    assert first.likely_duplicate
    assert first.meaning_similarity is None  # vectors are off in tests by default
    assert first.percent >= 50
    assert unrelated_card.pk not in ids(similar)


def test_title_alone_finds_a_card_with_the_same_title(cast: Any, returns_card: Card) -> None:
    similar = duplicates.similar_cards(cast.support_reader, title=RETURNS_TITLE, body="")
    assert ids(similar) == [returns_card.pk]


def test_unrelated_draft_sharing_a_word_finds_nothing(cast: Any, returns_card: Card) -> None:
    similar = duplicates.similar_cards(
        cast.support_reader, title=UNRELATED_TITLE, body=UNRELATED_BODY
    )
    assert returns_card.pk not in ids(similar)


def test_the_card_being_edited_is_not_its_own_duplicate(cast: Any, returns_card: Card) -> None:
    similar = duplicates.similar_cards(
        cast.curator, title=RETURNS_TITLE, body=RETURNS_BODY, exclude_card_id=returns_card.pk
    )
    assert returns_card.pk not in ids(similar)


def test_archived_cards_are_not_suggested(cast: Any, returns_card: Card) -> None:
    services.card_archive(user=cast.curator, card=returns_card)
    assert duplicates.similar_cards(cast.curator, title=EDITED_TITLE, body=EDITED_BODY) == []


def test_unreadable_cards_never_appear(cast: Any, returns_card: Card) -> None:
    # The author and the outsider cannot read the Support Runbooks.
    for user in (cast.author, cast.sales_reader, cast.outsider):
        assert duplicates.similar_cards(user, title=RETURNS_TITLE, body=RETURNS_BODY) == []
    assert ids(duplicates.similar_cards(cast.support_reader, title=RETURNS_TITLE, body="")) == [
        returns_card.pk
    ]


@pytest.mark.django_db
@hypothesis_settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(world=worlds())
def test_no_user_is_shown_a_similar_card_or_pair_they_cannot_read(world: dict) -> None:
    with rolled_back():
        users, _, readable = build(world)  # every card says "alpha card marker…"
        duplicates.scan_duplicates()
        for user in users:
            similar = duplicates.similar_cards(user, title="alpha card", body="shared word alpha")
            assert set(ids(similar)) <= readable[user.pk]
            assert bool(similar) == bool(readable[user.pk])  # the check is not vacuous
            curated = set(access.cards_for(user, AccessRole.CURATE).values_list("pk", flat=True))
            for pair in duplicates.duplicate_pairs(user):
                assert {pair.card_a_id, pair.card_b_id} <= curated & readable[user.pk]


def test_editor_panel_endpoint(cast: Any, returns_card: Card) -> None:
    url = reverse("card_similar")
    data = {"title": EDITED_TITLE, "content": EDITED_BODY}
    response = client_for(cast.support_reader).post(url, data, headers=HTMX)
    assert response.status_code == 200
    html = response.content.decode()
    assert RETURNS_TITLE in html
    assert reverse("card_detail", args=[returns_card.pk]) in html
    assert "% similar" in html
    # The outsider is told nothing about it.
    html = client_for(cast.outsider).post(url, data, headers=HTMX).content.decode()
    assert RETURNS_TITLE not in html
    # Editing the card itself: not listed.
    html = (
        client_for(cast.curator)
        .post(f"{url}?card={returns_card.pk}", {"title": RETURNS_TITLE, "content": RETURNS_BODY})
        .content.decode()
    )
    assert RETURNS_TITLE not in html


def test_editor_page_asks_for_similar_cards(cast: Any, returns_card: Card) -> None:
    html = client_for(cast.curator).get(reverse("card_create")).content.decode()
    assert reverse("card_similar") in html
    html = (
        client_for(cast.curator).get(reverse("card_edit", args=[returns_card.pk])).content.decode()
    )
    assert f"{reverse('card_similar')}?card={returns_card.pk}" in html


# ---------------------------------------------------------------- meaning (vectors on)


@pytest.fixture
def vectors_on(settings: Any) -> None:
    settings.VERITY_SEARCH_EMBEDDINGS = True
    if semantic.get_embedder() is None:
        pytest.skip("the embedding model is not installed")


def test_edited_copy_is_flagged_by_meaning_too(
    cast: Any, vectors_on: None, returns_card: Card, unrelated_card: Card
) -> None:
    semantic.embed_pending()
    similar = duplicates.similar_cards(cast.support_reader, title=EDITED_TITLE, body=EDITED_BODY)
    first = similar[0]
    assert first.card.pk == returns_card.pk
    assert first.meaning_similarity is not None
    assert first.meaning_similarity >= duplicates.MEANING_FLOOR
    assert first.likely_duplicate
    assert unrelated_card.pk not in ids(similar)
    # Meaning also respects permissions: the vector index is masked, the queryset decides.
    assert duplicates.similar_cards(cast.author, title=EDITED_TITLE, body=EDITED_BODY) == []


def test_scan_uses_vectors_when_present(
    cast: Any, vectors_on: None, copy_card: Card, returns_card: Card
) -> None:
    semantic.embed_pending()
    duplicates.scan_duplicates()
    pair = DuplicatePair.objects.get()
    assert {pair.card_a_id, pair.card_b_id} == {returns_card.pk, copy_card.pk}
    assert pair.meaning_similarity is not None and pair.meaning_similarity > 0.9
    assert duplicates.last_scan().used_meaning  # type: ignore[union-attr]


# ---------------------------------------------------------------- the report


def test_scan_finds_the_copy_and_not_the_stranger(
    cast: Any, copy_card: Card, returns_card: Card, unrelated_card: Card
) -> None:
    assert duplicates.scan_duplicates() == 1
    pair = DuplicatePair.objects.get()
    assert (pair.card_a_id, pair.card_b_id) == (returns_card.pk, copy_card.pk)
    assert pair.meaning_similarity is None
    assert pair.score >= duplicates.LIKELY_AT
    assert list(duplicates.duplicate_pairs(cast.curator)) == [pair]
    scan = duplicates.last_scan()
    assert scan is not None and scan.pairs == 1 and scan.cards == 5


def test_report_shows_only_pairs_the_user_curates(
    cast: Any, sales_curator: Any, copy_card: Card, returns_card: Card
) -> None:
    # A second pair that straddles both collections.
    sales_copy = make_card(cast.author, cast.sales_collection, RETURNS_TITLE, RETURNS_BODY)
    duplicates.scan_duplicates()
    assert DuplicatePair.objects.count() == 3
    assert duplicates.duplicate_pairs(cast.curator).count() == 3
    assert duplicates.duplicate_pairs(cast.admin).count() == 3
    # Curates Sales only: every pair has a card it cannot even read.
    assert not duplicates.duplicate_pairs(sales_curator).exists()
    for user in (cast.author, cast.support_reader, cast.outsider):
        assert not duplicates.duplicate_pairs(user).exists()
    html = client_for(sales_curator).get(reverse("duplicates_report")).content.decode()
    assert RETURNS_TITLE not in html and EDITED_TITLE not in html
    assert sales_copy.pk  # (it exists, and is still not shown)


def test_report_page_for_curators_only(cast: Any, copy_card: Card, returns_card: Card) -> None:
    duplicates.scan_duplicates()
    response = client_for(cast.curator).get(reverse("duplicates_report"))
    assert response.status_code == 200
    html = response.content.decode()
    assert RETURNS_TITLE in html and EDITED_TITLE in html
    assert "% similar" in html
    for user in (cast.sales_reader, cast.author, cast.outsider):
        assert client_for(user).get(reverse("duplicates_report")).status_code == 403


def test_report_query_count_does_not_grow_with_pairs(
    cast: Any, copy_card: Card, returns_card: Card, django_assert_max_num_queries: Any
) -> None:
    duplicates.scan_duplicates()
    client = client_for(cast.curator)
    with CaptureQueriesContext(connection) as one_pair:
        assert client.get(reverse("duplicates_report")).status_code == 200
    for n in range(3):
        make_card(cast.curator, cast.support_collection, f"{RETURNS_TITLE} {n}", RETURNS_BODY)
    duplicates.scan_duplicates()
    assert duplicates.duplicate_pairs(cast.curator).count() == 10
    with django_assert_max_num_queries(len(one_pair)):
        assert client.get(reverse("duplicates_report")).status_code == 200


def test_report_before_any_scan_offers_to_run_one(
    cast: Any, copy_card: Card, django_capture_on_commit_callbacks: Any
) -> None:
    html = client_for(cast.curator).get(reverse("duplicates_report")).content.decode()
    assert "Not checked yet" in html
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(cast.curator).post(reverse("duplicates_scan"))
    assert response.status_code == 302
    # Jobs run inline in tests: the scan is done.
    assert duplicates.last_scan() is not None
    assert client_for(cast.sales_reader).post(reverse("duplicates_scan")).status_code == 403


def test_dismissed_pair_is_not_shown_again(cast: Any, copy_card: Card, returns_card: Card) -> None:
    duplicates.scan_duplicates()
    response = client_for(cast.curator).post(
        reverse("duplicates_dismiss"), {"cards": [copy_card.pk, returns_card.pk]}, headers=HTMX
    )
    assert response.status_code == 200
    assert DuplicateDismissal.objects.filter(
        card_a=returns_card, card_b=copy_card, dismissed_by=cast.curator
    ).exists()
    assert not duplicates.duplicate_pairs(cast.curator).exists()
    duplicates.scan_duplicates()  # remembered across scans
    assert DuplicatePair.objects.count() == 1
    assert not duplicates.duplicate_pairs(cast.curator).exists()


def test_only_curators_of_both_cards_dismiss(cast: Any, returns_card: Card) -> None:
    with pytest.raises(PermissionDenied):
        duplicates.dismiss_pair(user=cast.author, card_a=returns_card, card_b=cast.sales_card)
    assert not DuplicateDismissal.objects.exists()


# ---------------------------------------------------------------- merge


def test_merge_archives_redirects_and_moves_favourites(
    cast: Any, copy_card: Card, returns_card: Card
) -> None:
    services.favorite_set(user=cast.support_reader, card=copy_card, on=True)
    services.favorite_set(user=cast.curator, card=copy_card, on=True)
    services.favorite_set(user=cast.curator, card=returns_card, on=True)  # had both
    version = returns_card.version

    kept = services.merge_cards(user=cast.curator, keep=returns_card, others=[copy_card])

    copy_card.refresh_from_db()
    assert copy_card.archived_at is not None
    assert copy_card.merged_into_id == returns_card.pk
    assert kept.version == version + 1
    note = CardVersion.objects.get(card=returns_card, number=kept.version).note
    assert f"#{copy_card.pk}" in note
    assert set(Favorite.objects.values_list("user_id", "card_id")) == {
        (cast.support_reader.pk, returns_card.pk),
        (cast.curator.pk, returns_card.pk),
    }
    # The merged card left search and the duplicate report.
    assert copy_card.pk not in ids(
        duplicates.similar_cards(cast.curator, title=EDITED_TITLE, body=EDITED_BODY)
    )
    assert not DuplicatePair.objects.filter(card_b=copy_card).exists()


def test_old_links_of_a_merged_card_lead_to_the_kept_one(
    cast: Any, copy_card: Card, returns_card: Card
) -> None:
    services.merge_cards(user=cast.curator, keep=returns_card, others=[copy_card])
    client = client_for(cast.support_reader)
    old_url = reverse("card_detail", args=[copy_card.pk])
    response = client.get(old_url)
    assert response.status_code == 302
    assert response["Location"] == reverse("card_detail", args=[returns_card.pk])
    page = client.get(old_url, follow=True)
    assert page.status_code == 200
    html = page.content.decode()
    assert f"<h1>{RETURNS_TITLE}</h1>" in html or RETURNS_TITLE in html
    assert "was merged into this card" in html
    # Still nothing for someone who cannot read either card.
    assert client_for(cast.outsider).get(old_url).status_code == 404


def test_merged_card_whose_target_is_unreadable_stays_put(
    cast: Any, returns_card: Card, sales_curator: Any
) -> None:
    sales_copy = make_card(cast.author, cast.sales_collection, EDITED_TITLE, EDITED_BODY)
    services.merge_cards(user=cast.curator, keep=returns_card, others=[sales_copy])
    # A Sales reader cannot read the Support card it now lives in: no redirect that would
    # reveal it, the archived card as it was.
    response = client_for(cast.sales_reader).get(reverse("card_detail", args=[sales_copy.pk]))
    assert response.status_code == 200
    assert EDITED_TITLE in response.content.decode()


def test_merge_chains_point_at_the_last_card_kept(cast: Any, returns_card: Card) -> None:
    first = make_card(cast.curator, cast.support_collection, EDITED_TITLE, EDITED_BODY)
    second = make_card(cast.curator, cast.support_collection, "Returns, again", RETURNS_BODY)
    services.merge_cards(user=cast.curator, keep=second, others=[first])
    services.merge_cards(user=cast.curator, keep=returns_card, others=[second])
    first.refresh_from_db()
    assert first.merged_into_id == returns_card.pk


def test_merge_needs_curate_on_every_card(
    cast: Any, returns_card: Card, sales_curator: Any
) -> None:
    sales_copy = make_card(cast.author, cast.sales_collection, EDITED_TITLE, EDITED_BODY)
    # The author only authors Sales; the Sales curator does not curate Support.
    for user in (cast.author, sales_curator):
        with pytest.raises(PermissionDenied):
            services.merge_cards(user=user, keep=sales_copy, others=[returns_card])
    with pytest.raises(PermissionDenied):
        services.merge_cards(user=cast.author, keep=sales_copy, others=[cast.sales_card])
    sales_copy.refresh_from_db()
    returns_card.refresh_from_db()
    assert sales_copy.archived_at is None and returns_card.archived_at is None


def test_merge_refuses_nonsense(cast: Any, returns_card: Card, copy_card: Card) -> None:
    with pytest.raises(ValidationError):
        services.merge_cards(user=cast.curator, keep=returns_card, others=[])
    with pytest.raises(ValidationError):
        services.merge_cards(user=cast.curator, keep=returns_card, others=[returns_card])
    services.card_archive(user=cast.curator, card=copy_card)
    with pytest.raises(ValidationError):
        services.merge_cards(user=cast.curator, keep=returns_card, others=[copy_card])
    copy_card.refresh_from_db()
    assert copy_card.merged_into_id is None


def test_restoring_a_merged_card_stops_the_redirect(
    cast: Any, returns_card: Card, copy_card: Card
) -> None:
    services.merge_cards(user=cast.curator, keep=returns_card, others=[copy_card])
    copy_card.refresh_from_db()
    services.card_unarchive(user=cast.curator, card=copy_card)
    copy_card.refresh_from_db()
    assert copy_card.merged_into_id is None
    response = client_for(cast.curator).get(reverse("card_detail", args=[copy_card.pk]))
    assert response.status_code == 200


def test_merge_from_the_report(cast: Any, copy_card: Card, returns_card: Card) -> None:
    duplicates.scan_duplicates()
    data = {"keep": returns_card.pk, "cards": [returns_card.pk, copy_card.pk]}
    assert client_for(cast.author).post(reverse("duplicates_merge"), data).status_code == 404
    response = client_for(cast.curator).post(reverse("duplicates_merge"), data)
    assert response.status_code == 302
    copy_card.refresh_from_db()
    assert copy_card.merged_into_id == returns_card.pk
    html = client_for(cast.curator).get(reverse("duplicates_report")).content.decode()
    assert EDITED_TITLE not in html


# ---------------------------------------------------------------- API


def test_api_lists_duplicates_for_curators(
    api: Any, cast: Any, copy_card: Card, returns_card: Card
) -> None:
    duplicates.scan_duplicates()
    response = api("curator").get("/cards/duplicates")
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 1
    assert body["computed_at"] is not None
    item = body["items"][0]
    assert [c["id"] for c in item["cards"]] == [returns_card.pk, copy_card.pk]
    assert item["text_similarity"] >= 0.5 and item["meaning_similarity"] is None
    assert item["score"] >= 0.5
    for who in ("sales_reader", "author", "outsider"):
        assert api(who).get("/cards/duplicates").status_code == 403


def test_api_dismiss(api: Any, cast: Any, copy_card: Card, returns_card: Card) -> None:
    duplicates.scan_duplicates()
    body = {"cards": [copy_card.pk, returns_card.pk]}
    assert api("author").post("/cards/duplicates/dismiss", body).status_code == 422  # unreadable
    assert api("curator").post("/cards/duplicates/dismiss", body).status_code == 200
    assert api("curator").get("/cards/duplicates").json()["count"] == 0


def test_api_merge(api: Any, cast: Any, copy_card: Card, returns_card: Card) -> None:
    path = f"/cards/{returns_card.pk}/merge"
    assert api("outsider").post(path, {"others": [copy_card.pk]}).status_code == 404
    assert api("support_reader").post(path, {"others": [copy_card.pk]}).status_code == 403
    assert api("curator").post(path, {"others": [999_999]}).status_code == 422
    assert api("curator").post(path, {"others": []}).status_code == 422

    response = api("curator").post(path, {"others": [copy_card.pk]})
    assert response.status_code == 200
    assert response.json()["id"] == returns_card.pk
    assert response.json()["merged_into"] is None

    merged = api("support_reader").get(f"/cards/{copy_card.pk}").json()
    assert merged["archived"] is True
    assert merged["merged_into"] == returns_card.pk
    # Merging again is refused: the card is archived now.
    assert api("curator").post(path, {"others": [copy_card.pk]}).status_code == 422


# ---------------------------------------------------------------- in the browser


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
def test_browser_warns_in_the_editor_then_merges_from_the_report(
    page: Any, live_server: Any, cast: Any
) -> None:
    import re

    from playwright.sync_api import expect

    from tests.e2e.test_knowledge_journeys import sign_in

    original = make_card(cast.curator, cast.support_collection, RETURNS_TITLE, RETURNS_BODY)
    copy = make_card(cast.curator, cast.support_collection, EDITED_TITLE, EDITED_BODY)

    # Writing the same answer again: the panel names the original while the curator types.
    sign_in(page, live_server, cast.curator.email)
    page.goto(f"{live_server.url}{reverse('card_create')}")
    page.fill("#id_title", "Returning hardware")
    page.fill("#id_content", EDITED_BODY)
    expect(page.locator(".similar-warning")).to_contain_text(EDITED_TITLE)  # the exact copy
    expect(page.locator(".similar-list")).to_contain_text(RETURNS_TITLE)
    expect(page.locator(".similar-item").first).to_contain_text("% similar")

    # The report lists the saved copy; the curator keeps the original and merges.
    duplicates.scan_duplicates()
    page.goto(f"{live_server.url}{reverse('collection_list')}")
    page.get_by_role("link", name="Duplicate cards").click()
    pair = page.locator(".dup-pair").first
    expect(pair).to_contain_text(RETURNS_TITLE)
    pair.locator(f"input[name=keep][value='{original.pk}']").check()
    page.once("dialog", lambda dialog: dialog.accept())
    pair.get_by_role("button", name="Merge").click()
    expect(page.locator(".message-success")).to_contain_text("Merged into")
    expect(page.locator(".dup-pair")).to_have_count(0)

    # The copy's old address now opens the card that was kept.
    page.goto(f"{live_server.url}{reverse('card_detail', args=[copy.pk])}")
    expect(page).to_have_url(re.compile(rf"/cards/{original.pk}/$"))
    expect(page.locator("h1")).to_have_text(RETURNS_TITLE)
