from __future__ import annotations

import pytest
from django.urls import reverse

from tests.web.helpers import client_for
from verity.knowledge import services

pytestmark = pytest.mark.django_db


@pytest.fixture
def edited(cast):
    services.card_update(
        user=cast.author,
        card=cast.sales_card,
        expected_version=1,
        title="Discount rules",
        content="Up to **10%** needs no approval; above that ask the deal desk.\nNew line.",
    )
    cast.sales_card.refresh_from_db()
    return cast.sales_card


def test_history_lists_versions_with_who_and_what(cast, edited) -> None:
    response = client_for(cast.sales_reader).get(reverse("card_history", args=[edited.pk]))
    assert response.status_code == 200
    html = response.content.decode()
    assert "v1" in html and "v2" in html
    assert "Author" in html
    assert ">title<" in html and ">body<" in html and ">created<" in html


def test_version_page_shows_readable_diff(cast, edited) -> None:
    html = (
        client_for(cast.sales_reader)
        .get(reverse("card_version", args=[edited.pk, 2]))
        .content.decode()
    )
    assert "Discount approval rules</del>" in html and "Discount rules</ins>" in html
    assert 'class="diff-line diff-del"' in html and 'class="diff-line diff-add"' in html
    assert "New line." in html
    assert "Restore version" not in html  # readers cannot restore


def test_unknown_version_is_404(cast, edited) -> None:
    assert (
        client_for(cast.author).get(reverse("card_version", args=[edited.pk, 9])).status_code == 404
    )


def test_outsider_cannot_see_history(cast, edited) -> None:
    client = client_for(cast.outsider)
    assert client.get(reverse("card_history", args=[edited.pk])).status_code == 404
    assert client.get(reverse("card_version", args=[edited.pk, 1])).status_code == 404
    assert (
        client.post(
            reverse("card_restore_version", args=[edited.pk, 1]), {"version": 2}
        ).status_code
        == 404
    )


def test_restore_creates_a_new_version_with_old_content(cast, edited) -> None:
    client = client_for(cast.author)
    html = client.get(reverse("card_version", args=[edited.pk, 1])).content.decode()
    assert "Restore version 1" in html
    response = client.post(reverse("card_restore_version", args=[edited.pk, 1]), {"version": 2})
    assert response.status_code == 302
    edited.refresh_from_db()
    assert edited.version == 3
    assert edited.title == "Discount approval rules"
    assert "15%" in edited.content


def test_stale_restore_changes_nothing(cast, edited) -> None:
    response = client_for(cast.author).post(
        reverse("card_restore_version", args=[edited.pk, 1]), {"version": 1}, follow=True
    )
    assert "Nothing was restored" in response.content.decode()
    edited.refresh_from_db()
    assert edited.version == 2 and edited.title == "Discount rules"


def test_reader_cannot_restore(cast, edited) -> None:
    response = client_for(cast.sales_reader).post(
        reverse("card_restore_version", args=[edited.pk, 1]), {"version": 2}
    )
    assert response.status_code == 403
    edited.refresh_from_db()
    assert edited.version == 2
