from __future__ import annotations

import pytest
from django.urls import reverse

from tests.web.helpers import client_for
from verity.knowledge import services
from verity.knowledge.models import Card, CardFolder, Folder

pytestmark = pytest.mark.django_db


def page(collection, folder=None) -> str:
    if folder is None:
        return reverse("collection_detail", args=[collection.slug])
    return reverse("folder_detail", args=[collection.slug, folder.pk])


def test_collection_list_shows_only_readable_collections(cast) -> None:
    html = client_for(cast.sales_reader).get(reverse("collection_list")).content.decode()
    assert "Sales Playbook" in html and "Support Runbooks" not in html
    outsider = client_for(cast.outsider).get(reverse("collection_list")).content.decode()
    assert "Sales Playbook" not in outsider and "Support Runbooks" not in outsider
    assert "do not have access to any collection" in outsider


def test_collection_list_query_count_is_bounded(cast, django_assert_max_num_queries) -> None:
    for i in range(10):
        services.collection_create(user=cast.admin, name=f"Extra {i}")
    client = client_for(cast.admin)
    with django_assert_max_num_queries(8):
        assert client.get(reverse("collection_list")).status_code == 200


def test_collection_page_shows_folders_and_cards(cast) -> None:
    folder = services.folder_create(
        user=cast.admin, collection=cast.sales_collection, name="Pricing"
    )
    services.folder_create(
        user=cast.admin, collection=cast.sales_collection, name="Deep", parent=folder
    )
    html = client_for(cast.sales_reader).get(page(cast.sales_collection)).content.decode()
    assert "Pricing" in html and "Deep" in html
    assert "Discount approval rules" in html
    assert "Add folder" not in html  # readers do not curate
    assert 'name="card_ids"' not in html


def test_outsider_gets_404_on_collection_and_folder(cast) -> None:
    folder = services.folder_create(
        user=cast.admin, collection=cast.sales_collection, name="Pricing"
    )
    client = client_for(cast.outsider)
    assert client.get(page(cast.sales_collection)).status_code == 404
    assert client.get(page(cast.sales_collection, folder)).status_code == 404
    assert client_for(cast.support_reader).get(page(cast.sales_collection)).status_code == 404


def test_folder_of_another_collection_is_404(cast) -> None:
    other = services.folder_create(
        user=cast.admin, collection=cast.support_collection, name="Refunds"
    )
    response = client_for(cast.curator).get(
        reverse("folder_detail", args=[cast.sales_collection.slug, other.pk])
    )
    assert response.status_code == 404


def test_folder_page_lists_its_cards_in_order_and_curator_moves_them(cast) -> None:
    folder = services.folder_create(
        user=cast.admin, collection=cast.sales_collection, name="Pricing"
    )
    second = services.card_create(
        user=cast.author,
        collection=cast.sales_collection,
        title="Second card",
        folder_ids=[folder.pk],
    )
    services.card_update(
        user=cast.author, card=cast.sales_card, expected_version=1, folder_ids=[folder.pk]
    )
    client = client_for(cast.curator)
    html = client.get(page(cast.sales_collection, folder)).content.decode()
    assert html.index("Second card") < html.index("Discount approval rules")
    response = client.post(
        reverse(
            "folder_card_move", args=[cast.sales_collection.slug, folder.pk, cast.sales_card.pk]
        ),
        {"direction": "up"},
    )
    assert response.status_code == 302
    order = list(
        CardFolder.objects.filter(folder=folder)
        .order_by("position")
        .values_list("card_id", flat=True)
    )
    assert order == [cast.sales_card.pk, second.pk]
    # A reader cannot reorder.
    response = client_for(cast.sales_reader).post(
        reverse("folder_card_move", args=[cast.sales_collection.slug, folder.pk, second.pk]),
        {"direction": "up"},
    )
    assert response.status_code == 403


def test_curator_creates_renames_moves_and_deletes_folders(cast) -> None:
    client = client_for(cast.curator)
    slug = cast.sales_collection.slug
    assert client.post(reverse("folder_create", args=[slug]), {"name": "Alpha"}).status_code == 302
    client.post(reverse("folder_create", args=[slug]), {"name": "Beta"})
    alpha = Folder.objects.get(name="Alpha")
    beta = Folder.objects.get(name="Beta")
    client.post(reverse("folder_create", args=[slug]), {"name": "Child", "parent": alpha.pk})
    assert Folder.objects.get(name="Child").parent == alpha

    client.post(reverse("folder_move", args=[slug, beta.pk]), {"direction": "up"})
    names = list(
        Folder.objects.filter(collection=cast.sales_collection, parent=None)
        .order_by("position")
        .values_list("name", flat=True)
    )
    assert names == ["Beta", "Alpha"]

    client.post(reverse("folder_rename", args=[slug, alpha.pk]), {"name": "Alpha 2"})
    alpha.refresh_from_db()
    assert alpha.name == "Alpha 2"

    client.post(reverse("folder_delete", args=[slug, alpha.pk]))
    assert not Folder.objects.filter(pk=alpha.pk).exists()
    assert Card.objects.filter(pk=cast.sales_card.pk).exists()


def test_folder_actions_need_curate(cast) -> None:
    slug = cast.sales_collection.slug
    assert (
        client_for(cast.author)
        .post(reverse("folder_create", args=[slug]), {"name": "X"})
        .status_code
        == 403
    )
    assert (
        client_for(cast.outsider)
        .post(reverse("folder_create", args=[slug]), {"name": "X"})
        .status_code
        == 404
    )
    assert not Folder.objects.filter(name="X").exists()


def test_curator_sees_bulk_controls(cast) -> None:
    html = client_for(cast.curator).get(page(cast.sales_collection)).content.decode()
    assert 'name="card_ids"' in html and "Apply to selected" in html


def test_bulk_verify_by_curator(cast) -> None:
    other = services.card_create(user=cast.author, collection=cast.sales_collection, title="Other")
    response = client_for(cast.curator).post(
        reverse("collection_bulk", args=[cast.sales_collection.slug]),
        {"card_ids": [cast.sales_card.pk, other.pk], "action": "verify"},
        follow=True,
    )
    assert "2 cards verified." in response.content.decode()
    assert set(
        Card.objects.values_list("verification_state", flat=True).filter(
            collection=cast.sales_collection
        )
    ) == {"verified"}


def test_bulk_change_verifier_and_interval(cast) -> None:
    client = client_for(cast.curator)
    url = reverse("collection_bulk", args=[cast.sales_collection.slug])
    client.post(
        url,
        {
            "card_ids": [cast.sales_card.pk],
            "action": "set_verifier",
            "verifier": f"group:{cast.enablement.pk}",
        },
    )
    client.post(
        url, {"card_ids": [cast.sales_card.pk], "action": "set_interval", "interval": "180"}
    )
    cast.sales_card.refresh_from_db()
    assert cast.sales_card.verifier_group == cast.enablement
    assert cast.sales_card.verification_interval_days == 180


def test_bulk_needs_curate(cast) -> None:
    url = reverse("collection_bulk", args=[cast.sales_collection.slug])
    data = {"card_ids": [cast.sales_card.pk], "action": "verify"}
    assert client_for(cast.author).post(url, data).status_code == 403
    assert client_for(cast.outsider).post(url, data).status_code == 404
    # A curator of another collection cannot slip in a card through their own collection's form.
    from tests.conftest import make_user
    from verity.accounts.models import Group

    support_lead = make_user("lead@example.com")
    leads = Group.objects.create(name="Support leads")
    leads.members.add(support_lead)
    services.collection_grant(
        user=cast.admin, collection=cast.support_collection, group=leads, role="curate"
    )
    foreign = client_for(support_lead).post(
        reverse("collection_bulk", args=[cast.support_collection.slug]),
        {"card_ids": [cast.sales_card.pk], "action": "verify"},
    )
    assert foreign.status_code == 403
    cast.sales_card.refresh_from_db()
    assert cast.sales_card.verification_state == "unverified"


def test_archived_view_lists_archived_cards_for_authors(cast) -> None:
    services.card_archive(user=cast.author, card=cast.sales_card)
    url = reverse("collection_archived", args=[cast.sales_collection.slug])
    html = client_for(cast.author).get(url).content.decode()
    assert "Discount approval rules" in html and "Restore" in html
    assert client_for(cast.sales_reader).get(url).status_code == 403
    assert client_for(cast.outsider).get(url).status_code == 404
    listing = client_for(cast.author).get(page(cast.sales_collection)).content.decode()
    assert "Discount approval rules" not in listing


def test_collection_page_query_count_is_bounded(cast, django_assert_max_num_queries) -> None:
    folder = services.folder_create(
        user=cast.admin, collection=cast.sales_collection, name="Pricing"
    )
    for i in range(30):
        services.card_create(
            user=cast.author,
            collection=cast.sales_collection,
            title=f"Card {i}",
            folder_ids=[folder.pk],
            verifier_group=cast.sales,
        )
    client = client_for(cast.curator)
    with django_assert_max_num_queries(15):
        assert client.get(page(cast.sales_collection)).status_code == 200
    with django_assert_max_num_queries(15):
        assert client.get(page(cast.sales_collection, folder)).status_code == 200


def test_site_admin_creates_a_collection_and_others_cannot(cast) -> None:
    from verity.knowledge.models import Collection

    response = client_for(cast.admin).post(reverse("collection_list"), {"name": "New Hires"})
    created = Collection.objects.get(name="New Hires")
    assert response.status_code == 302
    assert response["Location"] == reverse("collection_detail", args=[created.slug])
    assert (
        client_for(cast.curator).post(reverse("collection_list"), {"name": "Nope"}).status_code
        == 403
    )
    assert (
        client_for(cast.outsider).post(reverse("collection_list"), {"name": "Nope"}).status_code
        == 403
    )
    assert not Collection.objects.filter(name="Nope").exists()
