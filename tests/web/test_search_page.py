from __future__ import annotations

import pytest
from django.urls import reverse

from tests.web.helpers import client_for
from verity.knowledge import services

pytestmark = pytest.mark.django_db


def search(user, **params: str):
    return client_for(user).get(reverse("search"), params)


def test_search_finds_readable_card_with_badge_and_snippet(cast) -> None:
    response = search(cast.sales_reader, q="approval")
    assert response.status_code == 200
    html = response.content.decode()
    assert "Discount approval rules" in html
    assert 'data-state="unverified"' in html
    assert "verifier: Author" in html
    assert "<mark>approval</mark>" in html
    assert "<html" in html  # a full page without htmx


def test_outsider_finds_nothing(cast) -> None:
    html = search(cast.outsider, q="discount").content.decode()
    assert "Discount approval rules" not in html
    assert "No card you can read matches" in html
    html = search(cast.support_reader, q="discount").content.decode()
    assert "Discount approval rules" not in html


def test_htmx_request_gets_only_the_results(cast) -> None:
    response = client_for(cast.sales_reader).get(
        reverse("search"),
        {"q": "discount"},
        headers={"HX-Request": "true", "HX-Target": "search-results"},
    )
    html = response.content.decode()
    assert "Discount approval rules" in html
    assert "<html" not in html and "<form" not in html


def test_filters_by_state_and_tag(cast) -> None:
    assert (
        "Discount approval rules"
        not in search(cast.sales_reader, q="discount", state="verified").content.decode()
    )
    assert (
        "Discount approval rules"
        in search(cast.sales_reader, q="discount", state="unverified").content.decode()
    )
    assert (
        "Discount approval rules"
        in search(cast.sales_reader, q="discount", tag="pricing").content.decode()
    )
    assert (
        "Discount approval rules"
        not in search(cast.sales_reader, q="discount", tag="refunds").content.decode()
    )


def test_empty_query_shows_a_hint(cast) -> None:
    html = search(cast.sales_reader).content.decode()
    assert "Type a few words" in html


def test_pagination(cast) -> None:
    for i in range(25):
        services.card_create(
            user=cast.author,
            collection=cast.sales_collection,
            title=f"Renewal step {i}",
            content="renewal",
        )
    first = search(cast.author, q="renewal").content.decode()
    assert "25 cards match" in first and "Page 1 of 2" in first and "page=2" in first
    second = search(cast.author, q="renewal", page="2").content.decode()
    assert "Page 2 of 2" in second
    assert second.count('class="result"') == 5


def test_search_requires_login(client) -> None:
    assert client.get(reverse("search"), {"q": "discount"}).status_code == 302


def test_search_page_query_count_is_bounded(cast, django_assert_max_num_queries) -> None:
    for i in range(20):
        services.card_create(
            user=cast.author,
            collection=cast.sales_collection,
            title=f"Renewal step {i}",
            content="renewal",
            tags=["renewals", f"t{i}"],
            verifier_group=cast.sales,
        )
    client = client_for(cast.author)
    # About 18: the session and user, the filters' option lists (collections, tags, folders,
    # verifiers, authors), the search (count, score, permission check) and its ranking, and
    # recording it (2). What matters is that 20 results cost no more than one would.
    with django_assert_max_num_queries(18):
        assert client.get(reverse("search"), {"q": "renewal"}).status_code == 200
