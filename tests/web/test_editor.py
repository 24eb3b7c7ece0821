from __future__ import annotations

import pytest
from django.urls import reverse

from tests.web.helpers import HTMX, client_for
from verity.knowledge import services
from verity.knowledge.models import Card

pytestmark = pytest.mark.django_db


def form_data(cast, **overrides: object) -> dict[str, object]:
    data: dict[str, object] = {
        "title": "Objection: too expensive",
        "content": "Ask **what** they compare against.",
        "collection": cast.sales_collection.pk,
        "tags": "objections, Pricing",
        "verifier": f"user:{cast.author.pk}",
        "interval": "30",
    }
    data.update(overrides)
    return data


def test_new_card_page_for_author_preselects_collection(cast) -> None:
    response = client_for(cast.author).get(
        reverse("card_create") + f"?collection={cast.sales_collection.pk}"
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert f'<option value="{cast.sales_collection.pk}" selected>' in html
    assert "data-warn-unsaved" in html
    assert reverse("card_preview") in html


def test_readers_and_outsiders_cannot_create(cast) -> None:
    assert client_for(cast.sales_reader).get(reverse("card_create")).status_code == 403
    assert client_for(cast.outsider).get(reverse("card_create")).status_code == 403
    response = client_for(cast.sales_reader).post(reverse("card_create"), form_data(cast))
    assert response.status_code == 403
    assert not Card.objects.filter(title="Objection: too expensive").exists()


def test_create_card(cast) -> None:
    folder = services.folder_create(
        user=cast.admin, collection=cast.sales_collection, name="Objections"
    )
    response = client_for(cast.author).post(
        reverse("card_create"), form_data(cast, folders=[str(folder.pk)])
    )
    card = Card.objects.get(title="Objection: too expensive")
    assert response.status_code == 302
    assert response["Location"] == reverse("card_detail", args=[card.pk])
    assert sorted(card.tags.values_list("name", flat=True)) == ["objections", "pricing"]
    assert card.verification_interval_days == 30
    assert card.verifier_user == cast.author
    assert list(card.folders.all()) == [folder]
    assert "<strong>what</strong>" in card.content_html


def test_create_with_group_verifier_and_never_interval(cast) -> None:
    client_for(cast.author).post(
        reverse("card_create"),
        form_data(cast, verifier=f"group:{cast.sales.pk}", interval="never"),
    )
    card = Card.objects.get(title="Objection: too expensive")
    assert card.verifier_group == cast.sales and card.verifier_user is None
    assert card.verification_interval_days is None


def test_errors_show_beside_fields_and_keep_input(cast) -> None:
    response = client_for(cast.author).post(
        reverse("card_create"), form_data(cast, title="   ", content="My half-written **draft**")
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "field-error" in html
    assert "My half-written **draft**" in html
    assert "data-dirty" in html
    assert not Card.objects.filter(content__contains="half-written").exists()


def test_folder_of_another_collection_is_refused(cast) -> None:
    other = services.folder_create(
        user=cast.admin, collection=cast.support_collection, name="Refunds"
    )
    response = client_for(cast.curator).post(
        reverse("card_create"), form_data(cast, folders=[str(other.pk)])
    )
    assert response.status_code == 200
    assert "Choose folders of the card&#x27;s own collection." in response.content.decode()
    assert not Card.objects.filter(title="Objection: too expensive").exists()


def test_edit_page_carries_the_version(cast) -> None:
    response = client_for(cast.author).get(reverse("card_edit", args=[cast.sales_card.pk]))
    assert response.status_code == 200
    html = response.content.decode()
    assert 'name="version" value="1"' in html
    assert "Up to **15%** needs no approval" in html


def test_edit_needs_author_and_hides_from_outsider(cast) -> None:
    url = reverse("card_edit", args=[cast.sales_card.pk])
    assert client_for(cast.sales_reader).get(url).status_code == 403
    assert client_for(cast.outsider).get(url).status_code == 404
    assert client_for(cast.outsider).post(url, form_data(cast, version=1)).status_code == 404


def test_edit_saves_a_new_version(cast) -> None:
    response = client_for(cast.author).post(
        reverse("card_edit", args=[cast.sales_card.pk]),
        form_data(cast, title="Discount approval rules", content="Up to 10%.", version=1),
    )
    assert response.status_code == 302
    cast.sales_card.refresh_from_db()
    assert cast.sales_card.version == 2
    assert cast.sales_card.content == "Up to 10%."


def test_stale_edit_shows_conflict_and_keeps_typed_text(cast) -> None:
    # The curator saves version 2 while the author still edits version 1.
    services.card_update(
        user=cast.curator, card=cast.sales_card, expected_version=1, content="Curator's rewrite."
    )
    url = reverse("card_edit", args=[cast.sales_card.pk])
    response = client_for(cast.author).post(
        url, form_data(cast, content="Author's careful new text.", version=1)
    )
    assert response.status_code == 409
    html = response.content.decode()
    assert "Someone else saved this card while you were editing" in html
    assert "Author&#x27;s careful new text." in html  # what they typed is still in the form
    assert reverse("card_detail", args=[cast.sales_card.pk]) in html  # link to the current one
    assert 'name="version" value="1"' in html
    cast.sales_card.refresh_from_db()
    assert cast.sales_card.content == "Curator's rewrite."  # nothing overwritten
    assert cast.sales_card.version == 2

    # Having seen version 2, the author deliberately saves on top of it.
    response = client_for(cast.author).post(
        url, form_data(cast, content="Author's careful new text.", version=1, overwrite="2")
    )
    assert response.status_code == 302
    cast.sales_card.refresh_from_db()
    assert cast.sales_card.content == "Author's careful new text."
    assert cast.sales_card.version == 3


def test_preview_renders_sanitised_markdown(cast) -> None:
    response = client_for(cast.author).post(
        reverse("card_preview"),
        {"content": "# Hello\n\n<script>alert(1)</script>**bold**"},
        headers=HTMX,
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "<h1>Hello</h1>" in html
    assert "<script>" not in html


def test_preview_needs_login(client) -> None:
    assert client.post(reverse("card_preview"), {"content": "x"}).status_code == 302
