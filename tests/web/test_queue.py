from __future__ import annotations

import pytest
from django.urls import reverse

from tests.web.helpers import HTMX, client_for
from verity.knowledge import services

pytestmark = pytest.mark.django_db


def test_queue_lists_cards_waiting_for_me_oldest_first(cast) -> None:
    newer = services.card_create(
        user=cast.author,
        collection=cast.sales_collection,
        title="Newer card",
        verifier_user=cast.author,
    )
    html = client_for(cast.author).get(reverse("queue")).content.decode()
    assert "Discount approval rules" in html and "Newer card" in html
    assert html.index("Discount approval rules") < html.index("Newer card")
    assert "Refund escalation" not in html
    assert newer.pk


def test_group_verifier_members_see_the_card(cast) -> None:
    services.card_update(
        user=cast.curator,
        card=cast.support_card,
        expected_version=1,
        verifier_group=cast.enablement,
    )
    html = client_for(cast.curator).get(reverse("queue")).content.decode()
    assert "Refund escalation" in html


def test_outsider_queue_is_empty(cast) -> None:
    html = client_for(cast.outsider).get(reverse("queue")).content.decode()
    assert "All clear" in html
    assert "Discount approval rules" not in html and "Refund escalation" not in html


def test_verify_from_queue_updates_the_row(cast) -> None:
    response = client_for(cast.author).post(
        reverse("card_verify", args=[cast.sales_card.pk]), {"context": "row"}, headers=HTMX
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert f'id="queue-row-{cast.sales_card.pk}"' in html
    assert "is-done" in html and 'data-state="verified"' in html
    html = client_for(cast.author).get(reverse("queue")).content.decode()
    assert "Discount approval rules" not in html


def test_queue_query_count_is_bounded(cast, django_assert_max_num_queries) -> None:
    for i in range(30):
        services.card_create(
            user=cast.author,
            collection=cast.sales_collection,
            title=f"C{i}",
            verifier_user=cast.author,
        )
    client = client_for(cast.author)
    with django_assert_max_num_queries(10):
        assert client.get(reverse("queue")).status_code == 200
