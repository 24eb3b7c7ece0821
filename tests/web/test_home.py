from __future__ import annotations

import pytest
from django.urls import reverse

from tests.web.helpers import client_for
from verity.knowledge import services

pytestmark = pytest.mark.django_db


def test_home_requires_login(client) -> None:
    response = client.get(reverse("home"))
    assert response.status_code == 302
    assert "next=/" in response["Location"]


def test_home_shows_my_queue_recent_cards_and_trust(cast) -> None:
    response = client_for(cast.author).get(reverse("home"))
    assert response.status_code == 200
    html = response.content.decode()
    assert "Waiting for your verification" in html
    assert "Discount approval rules" in html  # the author verifies it
    assert "Refund escalation" not in html  # support collection is not theirs
    assert "<strong>0%</strong>" in html  # nothing verified yet


def test_outsider_home_shows_no_cards_and_says_what_to_do(cast) -> None:
    response = client_for(cast.outsider).get(reverse("home"))
    assert response.status_code == 200
    html = response.content.decode()
    assert "Discount approval rules" not in html
    assert "Refund escalation" not in html
    assert "No cards yet" in html


def test_home_trust_score_counts_verified_cards(cast) -> None:
    services.card_verify(user=cast.author, card=cast.sales_card)
    html = client_for(cast.sales_reader).get(reverse("home")).content.decode()
    assert "<strong>100%</strong>" in html
    assert "1 of 1 cards verified" in html


def test_home_lists_favourites(cast) -> None:
    services.favorite_set(user=cast.sales_reader, card=cast.sales_card, on=True)
    html = client_for(cast.sales_reader).get(reverse("home")).content.decode()
    favourites = html.split("Your favourites", 1)[1]
    assert "Discount approval rules" in favourites


def test_home_query_count_is_bounded(cast, django_assert_max_num_queries) -> None:
    for i in range(25):
        card = services.card_create(
            user=cast.author,
            collection=cast.sales_collection,
            title=f"Card {i}",
            content="body",
            verifier_user=cast.author,
        )
        services.favorite_set(user=cast.author, card=card, on=True)
        if i % 2:
            services.card_verify(user=cast.author, card=card)
    client = client_for(cast.author)
    with django_assert_max_num_queries(20):
        assert client.get(reverse("home")).status_code == 200


def test_navigation_shows_admin_only_to_site_admins(cast) -> None:
    admin_link = f'href="{reverse("admin_home")}"'
    assert admin_link in client_for(cast.admin).get(reverse("home")).content.decode()
    html = client_for(cast.curator).get(reverse("home")).content.decode()
    assert admin_link not in html
    assert f'href="{reverse("queue")}"' in html and f'href="{reverse("collection_list")}"' in html
    assert 'name="q"' in html and f'action="{reverse("search")}"' in html
    assert f'action="{reverse("set_language")}"' in html
    assert f'action="{reverse("logout")}"' in html and f'href="{reverse("profile")}"' in html
