"""Collections, their group access and their folders over the API."""

from __future__ import annotations

from typing import Any

from verity.knowledge import services
from verity.knowledge.models import Collection, CollectionAccess, Folder


def test_list_shows_readable_collections_with_my_role(api: Any, cast: Any) -> None:
    def names(who: str) -> dict[str, str | None]:
        body = api(who).get("/collections").json()
        assert body["count"] == len(body["items"])
        return {c["name"]: c["role"] for c in body["items"]}

    assert names("sales_reader") == {"Sales Playbook": "read"}
    assert names("author") == {"Sales Playbook": "author"}
    assert names("curator") == {"Sales Playbook": "curate", "Support Runbooks": "curate"}
    assert names("admin") == {"Sales Playbook": "curate", "Support Runbooks": "curate"}
    assert names("outsider") == {}


def test_outsider_gets_404_on_collections(api: Any, cast: Any) -> None:
    outsider = api("outsider")
    pk = cast.sales_collection.pk
    assert outsider.get(f"/collections/{pk}").status_code == 404
    assert outsider.patch(f"/collections/{pk}", {"name": "Mine"}).status_code == 404
    assert outsider.get(f"/collections/{pk}/access").status_code == 404
    assert outsider.get(f"/collections/{pk}/folders").status_code == 404
    assert outsider.post(f"/collections/{pk}/folders", {"name": "X"}).status_code == 404
    assert (
        outsider.put(
            f"/collections/{pk}/access", {"group": cast.support.pk, "role": "read"}
        ).status_code
        == 404
    )
    assert not CollectionAccess.objects.filter(
        group=cast.support, collection=cast.sales_collection
    ).exists()
    assert Collection.objects.get(pk=pk).name == "Sales Playbook"


def test_admin_creates_collection_others_cannot(api: Any, cast: Any) -> None:
    response = api("admin").post("/collections", {"name": "Company", "description": "For all"})
    assert response.status_code == 201
    assert response.json()["slug"] == "company"
    assert response.json()["role"] == "curate"
    assert api("curator").post("/collections", {"name": "Mine"}).status_code == 403
    assert api("outsider").post("/collections", {"name": "Mine"}).status_code == 403
    duplicate = api("admin").post("/collections", {"name": "company"})
    assert duplicate.status_code == 422
    assert duplicate.json()["errors"][0]["field"] == "name"
    assert Collection.objects.count() == 3


def test_curator_patches_reader_cannot(api: Any, cast: Any) -> None:
    pk = cast.sales_collection.pk
    response = api("curator").patch(f"/collections/{pk}", {"description": "How we sell"})
    assert response.status_code == 200
    assert response.json()["description"] == "How we sell"
    assert response.json()["name"] == "Sales Playbook"
    assert api("author").patch(f"/collections/{pk}", {"name": "Mine"}).status_code == 403
    assert api("sales_reader").patch(f"/collections/{pk}", {"name": "Mine"}).status_code == 403
    assert Collection.objects.get(pk=pk).name == "Sales Playbook"


def test_access_grants(api: Any, cast: Any) -> None:
    curator = api("curator")
    pk = cast.sales_collection.pk
    grants = curator.get(f"/collections/{pk}/access").json()
    assert {(g["group_name"], g["role"]) for g in grants} == {
        ("Enablement", "curate"),
        ("Sales", "read"),
        ("Sales SMEs", "author"),
    }
    assert api("sales_reader").get(f"/collections/{pk}/access").status_code == 403

    response = curator.put(f"/collections/{pk}/access", {"group": cast.support.pk, "role": "read"})
    assert response.status_code == 200
    assert ("Support", "read") in {(g["group_name"], g["role"]) for g in response.json()}
    assert api("support_reader").get(f"/cards/{cast.sales_card.pk}").status_code == 200

    response = curator.delete(f"/collections/{pk}/access/{cast.support.pk}")
    assert response.status_code == 200
    assert "Support" not in {g["group_name"] for g in response.json()}
    assert api("support_reader").get(f"/cards/{cast.sales_card.pk}").status_code == 404

    curator.put(f"/collections/{pk}/access", {"group": cast.support.pk, "role": "author"})
    response = curator.delete(f"/collections/{pk}/access", {"group": cast.support.pk})
    assert response.status_code == 200
    assert not CollectionAccess.objects.filter(group=cast.support, collection_id=pk).exists()

    bad_role = curator.put(f"/collections/{pk}/access", {"group": cast.support.pk, "role": "owner"})
    assert bad_role.status_code == 422
    assert bad_role.json()["errors"][0]["field"] == "role"
    bad_group = curator.put(f"/collections/{pk}/access", {"group": 987654, "role": "read"})
    assert bad_group.status_code == 422
    assert bad_group.json()["errors"][0]["field"] == "group"
    assert (
        api("sales_reader")
        .put(f"/collections/{pk}/access", {"group": cast.support.pk, "role": "curate"})
        .status_code
        == 403
    )


def test_folders_nested_and_ordered(api: Any, cast: Any) -> None:
    curator = api("curator")
    pk = cast.sales_collection.pk
    base = f"/collections/{pk}/folders"
    a = curator.post(base, {"name": "Competitors"}).json()
    b = curator.post(base, {"name": "Pricing"}).json()
    child = curator.post(base, {"name": "Acme", "parent": a["id"]})
    assert child.status_code == 201
    assert child.json()["parent"] == a["id"]
    listing = api("sales_reader").get(base).json()
    assert [f["name"] for f in listing["items"]] == ["Competitors", "Acme", "Pricing"]

    moved = curator.patch(f"{base}/{b['id']}", {"position": 0})
    assert moved.status_code == 200
    listing = api("sales_reader").get(base).json()
    assert [f["name"] for f in listing["items"]] == ["Pricing", "Competitors", "Acme"]

    renamed = curator.patch(f"{base}/{child.json()['id']}", {"name": "Acme Corp", "parent": None})
    assert renamed.json()["parent"] is None
    assert renamed.json()["name"] == "Acme Corp"

    cycle = curator.patch(f"{base}/{a['id']}", {"parent": a["id"]})
    assert cycle.status_code == 422
    assert cycle.json()["errors"][0]["field"] == "parent"
    foreign = curator.post(base, {"name": "X", "parent": 987654})
    assert foreign.status_code == 422
    assert foreign.json()["errors"][0]["field"] == "parent"

    assert api("sales_reader").post(base, {"name": "Mine"}).status_code == 403
    assert api("author").delete(f"{base}/{a['id']}").status_code == 403
    assert curator.delete(f"{base}/{a['id']}").status_code == 200
    assert not Folder.objects.filter(pk=a["id"]).exists()
    assert curator.delete(f"{base}/{a['id']}").status_code == 404
    # A folder of another collection is not reachable through this one.
    other = services.folder_create(user=cast.curator, collection=cast.support_collection, name="S")
    assert curator.patch(f"{base}/{other.pk}", {"name": "Moved"}).status_code == 404


def test_folder_card_order(api: Any, cast: Any) -> None:
    curator = api("curator")
    folder = services.folder_create(user=cast.curator, collection=cast.sales_collection, name="F")
    cards = [
        services.card_create(
            user=cast.curator, collection=cast.sales_collection, title=t, folder_ids=[folder.pk]
        )
        for t in ("One", "Two", "Three")
    ]
    wanted = [cards[2].pk, cards[0].pk, cards[1].pk]
    path = f"/collections/{cast.sales_collection.pk}/folders/{folder.pk}/cards"
    assert curator.put(path, {"card_ids": wanted}).status_code == 200
    listed = api("sales_reader").get("/cards", folder=folder.pk).json()["items"]
    assert [c["id"] for c in listed] == wanted
    incomplete = curator.put(path, {"card_ids": wanted[:1]})
    assert incomplete.status_code == 422
    assert incomplete.json()["errors"][0]["field"] == "cards"
