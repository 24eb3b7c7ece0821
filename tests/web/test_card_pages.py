from __future__ import annotations

import pytest
from django.urls import reverse

from tests.web.helpers import HTMX, client_for
from verity.knowledge import services
from verity.knowledge.models import Card, Favorite, Flag

pytestmark = pytest.mark.django_db


def detail(card: Card) -> str:
    return reverse("card_detail", args=[card.pk])


def test_reader_sees_card_with_trust_badge_but_no_verify_button(cast) -> None:
    response = client_for(cast.sales_reader).get(detail(cast.sales_card))
    assert response.status_code == 200
    html = response.content.decode()
    assert "Discount approval rules" in html
    assert "<strong>15%</strong>" in html  # rendered Markdown
    assert 'data-state="unverified"' in html and "Unverified" in html
    assert "never verified" in html
    assert reverse("card_verify", args=[cast.sales_card.pk]) not in html
    assert reverse("card_edit", args=[cast.sales_card.pk]) not in html
    assert "Flag as outdated" in html


def test_verifier_sees_verify_and_edit(cast) -> None:
    html = client_for(cast.author).get(detail(cast.sales_card)).content.decode()
    assert reverse("card_verify", args=[cast.sales_card.pk]) in html
    assert reverse("card_edit", args=[cast.sales_card.pk]) in html


def test_outsider_and_other_team_get_404(cast) -> None:
    assert client_for(cast.outsider).get(detail(cast.sales_card)).status_code == 404
    assert client_for(cast.support_reader).get(detail(cast.sales_card)).status_code == 404
    assert client_for(cast.sales_reader).get(detail(cast.support_card)).status_code == 404


def test_card_body_is_sanitised(cast) -> None:
    card = services.card_create(
        user=cast.author,
        collection=cast.sales_collection,
        title="Tricky",
        content='<script>alert(1)</script><img src=x onerror="alert(2)"> [x](javascript:alert(3))',
    )
    html = client_for(cast.sales_reader).get(detail(card)).content.decode()
    assert "<script>alert(1)" not in html
    assert "onerror" not in html
    assert 'href="javascript:' not in html


def test_one_click_verify_changes_state(cast) -> None:
    client = client_for(cast.author)
    response = client.post(reverse("card_verify", args=[cast.sales_card.pk]))
    assert response.status_code == 302
    cast.sales_card.refresh_from_db()
    assert cast.sales_card.verification_state == "verified"
    html = client.get(detail(cast.sales_card)).content.decode()
    assert 'data-state="verified"' in html
    assert "verified today by Author" in html


def test_htmx_verify_returns_the_status_fragment(cast) -> None:
    response = client_for(cast.author).post(
        reverse("card_verify", args=[cast.sales_card.pk]), headers=HTMX
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="card-status"' in html and 'data-state="verified"' in html
    assert "<html" not in html


def test_reader_cannot_verify_and_outsider_gets_404(cast) -> None:
    url = reverse("card_verify", args=[cast.sales_card.pk])
    assert client_for(cast.sales_reader).post(url).status_code == 403
    assert client_for(cast.outsider).post(url).status_code == 404
    cast.sales_card.refresh_from_db()
    assert cast.sales_card.verification_state == "unverified"


def test_flag_sends_card_to_needs_verification(cast) -> None:
    services.card_verify(user=cast.author, card=cast.sales_card)
    response = client_for(cast.sales_reader).post(
        reverse("card_flag", args=[cast.sales_card.pk]),
        {"comment": "The threshold is 10% now."},
        headers=HTMX,
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "The verifier has been told" in html
    assert 'hx-swap-oob="true"' in html and 'data-state="needs_verification"' in html
    cast.sales_card.refresh_from_db()
    assert cast.sales_card.verification_state == "needs_verification"
    assert cast.sales_card.verification_reason == "flagged"
    flag = Flag.objects.get(card=cast.sales_card)
    assert flag.user == cast.sales_reader
    page = client_for(cast.author).get(detail(cast.sales_card)).content.decode()
    assert "The threshold is 10% now." in page
    assert "1 open flag" in page


def test_flag_without_comment_shows_error_and_changes_nothing(cast) -> None:
    response = client_for(cast.sales_reader).post(
        reverse("card_flag", args=[cast.sales_card.pk]), {"comment": "  "}, headers=HTMX
    )
    assert response.status_code == 200
    assert "field-error" in response.content.decode()
    assert not Flag.objects.exists()


def test_outsider_cannot_flag(cast) -> None:
    response = client_for(cast.outsider).post(
        reverse("card_flag", args=[cast.sales_card.pk]), {"comment": "hi"}
    )
    assert response.status_code == 404
    assert not Flag.objects.exists()


def test_flag_dialog_opens_without_javascript(cast) -> None:
    html = client_for(cast.sales_reader).get(detail(cast.sales_card) + "?flag=1").content.decode()
    assert '<dialog id="flag-dialog"' in html and " open>" in html


def test_favourite_toggle(cast) -> None:
    client = client_for(cast.sales_reader)
    url = reverse("card_favourite", args=[cast.sales_card.pk])
    response = client.post(url, {"on": "1"}, headers=HTMX)
    assert response.status_code == 200
    assert 'aria-pressed="true"' in response.content.decode()
    assert Favorite.objects.filter(user=cast.sales_reader, card=cast.sales_card).exists()
    client.post(url, {"on": "0"})
    assert not Favorite.objects.filter(user=cast.sales_reader).exists()
    assert client_for(cast.outsider).post(url, {"on": "1"}).status_code == 404
    assert not Favorite.objects.filter(user=cast.outsider).exists()


def test_archive_and_restore_need_author(cast) -> None:
    archive = reverse("card_archive", args=[cast.sales_card.pk])
    assert client_for(cast.sales_reader).post(archive).status_code == 403
    assert client_for(cast.author).post(archive).status_code == 302
    cast.sales_card.refresh_from_db()
    assert cast.sales_card.archived_at is not None
    html = client_for(cast.author).get(detail(cast.sales_card)).content.decode()
    assert "This card was archived" in html
    client_for(cast.author).post(reverse("card_unarchive", args=[cast.sales_card.pk]))
    cast.sales_card.refresh_from_db()
    assert cast.sales_card.archived_at is None


def test_card_page_query_count_is_bounded(cast, django_assert_max_num_queries) -> None:
    for i in range(5):
        services.card_flag(user=cast.sales_reader, card=cast.sales_card, comment=f"issue {i}")
    client = client_for(cast.author)
    with django_assert_max_num_queries(20):
        assert client.get(detail(cast.sales_card)).status_code == 200


def test_flag_works_without_javascript(cast) -> None:
    response = client_for(cast.sales_reader).post(
        reverse("card_flag", args=[cast.sales_card.pk]), {"comment": "Old numbers"}, follow=True
    )
    assert response.redirect_chain[-1][0] == detail(cast.sales_card)
    assert "The verifier has been told" in response.content.decode()
    assert Flag.objects.filter(card=cast.sales_card, comment="Old numbers").exists()
