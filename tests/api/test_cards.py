"""Cards over the API: JSON shape, CRUD, optimistic concurrency, verification, history,
favourites, bulk actions — and that nobody sees or changes what they may not."""

from __future__ import annotations

from typing import Any

import pytest

from verity.knowledge import services
from verity.knowledge.models import Card, Favorite, Flag

CARD_FIELDS = {
    "id",
    "external_id",
    "title",
    "content",
    "content_html",
    "collection",
    "folders",
    "tags",
    "verifier",
    "verification_interval_days",
    "verification_state",
    "verification_reason",
    "last_verified_at",
    "next_verification_at",
    "version",
    "created_at",
    "updated_at",
    "archived",
}


def test_card_json_has_every_field(api: Any, cast: Any) -> None:
    folder = services.folder_create(
        user=cast.admin, collection=cast.sales_collection, name="Pricing"
    )
    services.card_update(
        user=cast.author, card=cast.sales_card, expected_version=1, folder_ids=[folder.pk]
    )
    response = api("sales_reader").get(f"/cards/{cast.sales_card.pk}")
    assert response.status_code == 200
    card = response.json()
    assert set(card) >= CARD_FIELDS
    assert card["id"] == cast.sales_card.pk
    assert card["title"] == "Discount approval rules"
    assert "<strong>15%</strong>" in card["content_html"]
    assert card["collection"] == cast.sales_collection.pk
    assert card["folders"] == [folder.pk]
    assert sorted(card["tags"]) == ["discounts", "pricing"]
    assert card["verifier"] == {"type": "user", "id": cast.author.pk}
    assert card["verification_interval_days"] == 90
    assert card["verification_state"] == "unverified"
    assert card["version"] == 2
    assert card["archived"] is False


def test_outsider_gets_404_and_empty_lists(api: Any, cast: Any) -> None:
    outsider = api("outsider")
    for path in (
        f"/cards/{cast.sales_card.pk}",
        f"/cards/{cast.sales_card.pk}/versions",
        f"/cards/{cast.sales_card.pk}/versions/1",
    ):
        assert outsider.get(path).status_code == 404, path
    assert (
        outsider.patch(f"/cards/{cast.sales_card.pk}", {"version": 1, "title": "x"}).status_code
        == 404
    )
    assert outsider.delete(f"/cards/{cast.sales_card.pk}").status_code == 404
    assert outsider.post(f"/cards/{cast.sales_card.pk}/verify").status_code == 404
    assert outsider.post(f"/cards/{cast.sales_card.pk}/flag", {"comment": "old"}).status_code == 404
    assert outsider.put(f"/cards/{cast.sales_card.pk}/favorite").status_code == 404
    assert outsider.post(f"/cards/{cast.sales_card.pk}/restore").status_code == 404
    assert outsider.post(f"/cards/{cast.sales_card.pk}/versions/1/restore").status_code == 404
    assert outsider.delete(f"/cards/{cast.sales_card.pk}/favorite").status_code == 404
    bulk = outsider.post("/cards/bulk", {"action": "verify", "card_ids": [cast.sales_card.pk]})
    assert bulk.status_code == 403
    assert outsider.get("/cards").json() == {"items": [], "count": 0}
    assert outsider.get("/cards", collection=cast.sales_collection.pk).json()["count"] == 0
    assert outsider.get("/cards", archived="true").json()["count"] == 0
    assert outsider.get("/me/queue").json() == {"items": [], "count": 0}
    assert not Flag.objects.exists()
    assert not Favorite.objects.exists()
    card = Card.objects.get(pk=cast.sales_card.pk)
    assert (card.version, card.verification_state, card.archived_at) == (1, "unverified", None)
    # Creating a card in a collection the outsider cannot see: the id is simply unknown.
    response = outsider.post("/cards", {"title": "Mine", "collection": cast.sales_collection.pk})
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "collection"


def test_support_reader_cannot_see_sales_card(api: Any, cast: Any) -> None:
    support = api("support_reader")
    assert support.get(f"/cards/{cast.sales_card.pk}").status_code == 404
    ids = [c["id"] for c in support.get("/cards").json()["items"]]
    assert ids == [cast.support_card.pk]


def test_list_filters(api: Any, cast: Any) -> None:
    curator = api("curator")
    folder = services.folder_create(user=cast.curator, collection=cast.sales_collection, name="F")
    extra = services.card_create(
        user=cast.curator,
        collection=cast.sales_collection,
        title="Competitor: Acme",
        tags=["battlecard"],
        folder_ids=[folder.pk],
        verifier_group=cast.sales,
    )
    services.card_verify(user=cast.curator, card=extra)

    def ids(**params: Any) -> list[int]:
        response = curator.get("/cards", **params)
        assert response.status_code == 200, response.content
        return sorted(c["id"] for c in response.json()["items"])

    assert ids() == sorted([cast.sales_card.pk, cast.support_card.pk, extra.pk])
    assert ids(collection=cast.sales_collection.pk) == sorted([cast.sales_card.pk, extra.pk])
    assert ids(folder=folder.pk) == [extra.pk]
    assert ids(tag="battlecard") == [extra.pk]
    assert ids(tag="Pricing") == [cast.sales_card.pk]
    assert ids(state="verified") == [extra.pk]
    assert ids(verifier=f"group:{cast.sales.pk}") == [extra.pk]
    assert ids(verifier=f"user:{cast.curator.pk}") == [cast.support_card.pk]
    assert ids(verifier="me") == [cast.support_card.pk]
    services.card_archive(user=cast.curator, card=extra)
    assert extra.pk not in ids()
    assert ids(archived="true") == [extra.pk]
    for nonsense in ("someone", "user:abc", "user:²", "group:0", f"user:{2**64}"):
        bad = curator.get("/cards", verifier=nonsense)
        assert bad.status_code == 422, nonsense
        assert bad.json()["errors"][0]["field"] == "verifier"
    assert curator.get("/cards", state="bogus").status_code == 422


def test_list_is_paginated(api: Any, cast: Any) -> None:
    for i in range(5):
        services.card_create(user=cast.author, collection=cast.sales_collection, title=f"Card {i}")
    reader = api("sales_reader")
    first = reader.get("/cards", limit=2).json()
    second = reader.get("/cards", limit=2, offset=2).json()
    assert first["count"] == second["count"] == 6
    assert len(first["items"]) == len(second["items"]) == 2
    assert not {c["id"] for c in first["items"]} & {c["id"] for c in second["items"]}
    huge = reader.get("/cards", limit=10**9)
    assert huge.status_code == 422
    assert huge.json()["errors"][0]["field"] == "limit"
    assert reader.get("/cards", offset=-1).status_code == 422


def test_list_query_count_does_not_grow(
    api: Any, cast: Any, django_assert_max_num_queries: Any
) -> None:
    folder = services.folder_create(user=cast.curator, collection=cast.sales_collection, name="F")
    for i in range(30):
        services.card_create(
            user=cast.author,
            collection=cast.sales_collection,
            title=f"Card {i}",
            tags=[f"t{i}", "common"],
            folder_ids=[folder.pk],
        )
    reader = api("sales_reader")
    reader.get("/cards")  # token's last-used stamp is written once, outside the measurement
    with django_assert_max_num_queries(8):
        response = reader.get("/cards", limit=50)
    assert response.json()["count"] == 31
    with django_assert_max_num_queries(8):
        reader.get("/me/queue")


def test_author_creates_card(api: Any, cast: Any) -> None:
    folder = services.folder_create(user=cast.curator, collection=cast.sales_collection, name="F")
    response = api("author").post(
        "/cards",
        {
            "title": "Objection: too expensive",
            "content": "Ask *why* first.",
            "collection": cast.sales_collection.pk,
            "folders": [folder.pk],
            "tags": ["Objections", "pricing"],
            "verifier": {"type": "group", "id": cast.sales.pk},
            "verification_interval_days": 30,
            "external_id": "obj-1",
        },
    )
    assert response.status_code == 201, response.content
    card = response.json()
    stored = Card.objects.get(pk=card["id"])
    assert stored.title == "Objection: too expensive"
    assert stored.verifier_group == cast.sales
    assert card["folders"] == [folder.pk]
    assert card["tags"] == ["objections", "pricing"]
    assert card["verification_interval_days"] == 30
    assert card["external_id"] == "obj-1"
    assert card["verification_state"] == "unverified"
    assert "<em>why</em>" in card["content_html"]


def test_reader_cannot_write(api: Any, cast: Any) -> None:
    reader = api("sales_reader")
    card = cast.sales_card
    response = reader.post("/cards", {"title": "Nope", "collection": cast.sales_collection.pk})
    assert response.status_code == 403
    assert reader.patch(f"/cards/{card.pk}", {"version": 1, "title": "Hacked"}).status_code == 403
    assert reader.delete(f"/cards/{card.pk}").status_code == 403
    assert reader.post(f"/cards/{card.pk}/verify").status_code == 403
    assert reader.post(f"/cards/{card.pk}/versions/1/restore").status_code == 403
    assert (
        reader.post("/cards/bulk", {"action": "verify", "card_ids": [card.pk]}).status_code == 403
    )
    card.refresh_from_db()
    assert card.title == "Discount approval rules"
    assert card.archived_at is None
    assert card.verification_state == "unverified"
    assert Card.objects.count() == 2


def test_patch_changes_only_what_is_sent(api: Any, cast: Any) -> None:
    card = cast.sales_card
    response = api("author").patch(f"/cards/{card.pk}", {"version": 1, "title": "Discount rules"})
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["title"] == "Discount rules"
    assert body["version"] == 2
    assert body["content"].startswith("Up to **15%**")
    assert sorted(body["tags"]) == ["discounts", "pricing"]


def test_patch_requires_version(api: Any, cast: Any) -> None:
    response = api("author").patch(f"/cards/{cast.sales_card.pk}", {"title": "No version"})
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "version"
    for field in ("title", "content", "tags", "folders", "collection"):
        response = api("author").patch(f"/cards/{cast.sales_card.pk}", {"version": 1, field: None})
        assert response.status_code == 422, field
        assert response.json()["errors"][0]["field"] == field
    cast.sales_card.refresh_from_db()
    assert cast.sales_card.version == 1


def test_stale_patch_is_409_and_nothing_is_overwritten(api: Any, cast: Any) -> None:
    card = cast.sales_card
    author = api("author")
    assert (
        author.patch(f"/cards/{card.pk}", {"version": 1, "content": "First edit"}).status_code
        == 200
    )
    response = author.patch(f"/cards/{card.pk}", {"version": 1, "content": "Second, stale edit"})
    assert response.status_code == 409
    assert response.json()["current_version"] == 2
    assert "detail" in response.json()
    card.refresh_from_db()
    assert card.content == "First edit"
    assert card.version == 2
    assert card.versions.count() == 2


def test_patch_verifier_and_interval(api: Any, cast: Any) -> None:
    card = cast.sales_card
    author = api("author")
    response = author.patch(
        f"/cards/{card.pk}",
        {
            "version": 1,
            "verifier": {"type": "group", "id": cast.sales.pk},
            "verification_interval_days": None,
        },
    )
    assert response.status_code == 200, response.content
    assert response.json()["verifier"] == {"type": "group", "id": cast.sales.pk}
    assert response.json()["verification_interval_days"] is None
    assert response.json()["verification_reason"] == "new_verifier"
    missing = author.patch(
        f"/cards/{card.pk}", {"version": 2, "verifier": {"type": "user", "id": 999999}}
    )
    assert missing.status_code == 422
    assert missing.json()["errors"][0]["field"] == "verifier"
    cleared = author.patch(f"/cards/{card.pk}", {"version": 2, "verifier": None})
    assert cleared.status_code == 422
    assert cleared.json()["errors"][0]["field"] == "verifier"
    interval = author.patch(f"/cards/{card.pk}", {"version": 2, "verification_interval_days": 45})
    assert interval.status_code == 422
    assert interval.json()["errors"][0]["field"] == "verification_interval_days"


def test_patch_move_to_unreadable_collection_is_unknown(api: Any, cast: Any) -> None:
    response = api("author").patch(
        f"/cards/{cast.sales_card.pk}", {"version": 1, "collection": cast.support_collection.pk}
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "collection"
    cast.sales_card.refresh_from_db()
    assert cast.sales_card.collection == cast.sales_collection


def test_archive_and_restore(api: Any, cast: Any) -> None:
    author = api("author")
    card = cast.sales_card
    response = author.delete(f"/cards/{card.pk}")
    assert response.status_code == 200
    assert response.json()["archived"] is True
    assert card.pk not in [c["id"] for c in api("sales_reader").get("/cards").json()["items"]]
    assert api("sales_reader").get("/search", q="discount").json()["total"] == 0
    response = author.post(f"/cards/{card.pk}/restore")
    assert response.status_code == 200
    assert response.json()["archived"] is False
    assert api("sales_reader").get("/search", q="discount").json()["total"] == 1


def test_verify_flag_and_queue(api: Any, cast: Any) -> None:
    card = cast.sales_card
    author = api("author")
    queue = author.get("/me/queue").json()
    assert [c["id"] for c in queue["items"]] == [card.pk]

    response = author.post(f"/cards/{card.pk}/verify")
    assert response.status_code == 200
    assert response.json()["verification_state"] == "verified"
    assert response.json()["last_verified_at"] is not None
    assert response.json()["next_verification_at"] is not None
    assert author.get("/me/queue").json()["count"] == 0

    flag = api("sales_reader").post(f"/cards/{card.pk}/flag", {"comment": "Limit is now 10%"})
    assert flag.status_code == 201
    assert flag.json()["comment"] == "Limit is now 10%"
    assert flag.json()["card"] == card.pk
    detail = author.get(f"/cards/{card.pk}").json()
    assert detail["verification_state"] == "needs_verification"
    assert detail["verification_reason"] == "flagged"
    empty = api("sales_reader").post(f"/cards/{card.pk}/flag", {"comment": "  "})
    assert empty.status_code == 422
    assert empty.json()["errors"][0]["field"] == "comment"


def test_versions_and_restore(api: Any, cast: Any) -> None:
    card = cast.sales_card
    author = api("author")
    author.patch(f"/cards/{card.pk}", {"version": 1, "content": "New rules.\nSecond line."})
    versions = author.get(f"/cards/{card.pk}/versions").json()
    assert versions["count"] == 2
    assert [v["number"] for v in versions["items"]] == [2, 1]
    assert versions["items"][0]["changed_fields"] == ["content"]
    assert versions["items"][0]["author"] == cast.author.pk
    detail = author.get(f"/cards/{card.pk}/versions/2").json()
    assert {"kind": "add", "text": "New rules."} in detail["diff"]
    assert any(line["kind"] == "del" for line in detail["diff"])
    assert author.get(f"/cards/{card.pk}/versions/9").status_code == 404

    stale = author.post(f"/cards/{card.pk}/versions/1/restore", {"version": 1})
    assert stale.status_code == 409
    restored = author.post(f"/cards/{card.pk}/versions/1/restore", {"version": 2})
    assert restored.status_code == 200, restored.content
    assert restored.json()["version"] == 3
    assert restored.json()["content"].startswith("Up to **15%**")
    assert author.post(f"/cards/{card.pk}/versions/1/restore").status_code == 200
    assert author.post(f"/cards/{card.pk}/versions/99/restore").status_code == 404


def test_favorite(api: Any, cast: Any) -> None:
    reader = api("sales_reader")
    card = cast.sales_card
    assert reader.put(f"/cards/{card.pk}/favorite").json() == {"favorite": True}
    assert Favorite.objects.filter(user=cast.sales_reader, card=card).exists()
    assert reader.delete(f"/cards/{card.pk}/favorite").json() == {"favorite": False}
    assert not Favorite.objects.exists()


def test_bulk_actions(api: Any, cast: Any) -> None:
    curator = api("curator")
    ids = [cast.sales_card.pk, cast.support_card.pk]
    response = curator.post("/cards/bulk", {"action": "verify", "card_ids": ids})
    assert response.status_code == 200, response.content
    assert response.json() == {"action": "verify", "updated": 2}
    assert set(Card.objects.values_list("verification_state", flat=True)) == {"verified"}

    response = curator.post(
        "/cards/bulk",
        {
            "action": "set_verifier",
            "card_ids": ids,
            "verifier": {"type": "group", "id": cast.enablement.pk},
        },
    )
    assert response.json()["updated"] == 2
    assert set(Card.objects.values_list("verifier_group", flat=True)) == {cast.enablement.pk}

    response = curator.post(
        "/cards/bulk",
        {"action": "set_interval", "card_ids": ids, "verification_interval_days": 365},
    )
    assert response.json()["updated"] == 2
    assert set(Card.objects.values_list("verification_interval_days", flat=True)) == {365}

    missing = curator.post("/cards/bulk", {"action": "set_interval", "card_ids": ids})
    assert missing.status_code == 422
    assert missing.json()["errors"][0]["field"] == "verification_interval_days"
    wrong = curator.post("/cards/bulk", {"action": "delete_all", "card_ids": ids})
    assert wrong.status_code == 422
    assert wrong.json()["errors"][0]["field"] == "action"
    # The author does not curate: nothing changes, whichever cards are named.
    response = api("author").post(
        "/cards/bulk", {"action": "set_interval", "card_ids": ids, "verification_interval_days": 7}
    )
    assert response.status_code == 403
    assert set(Card.objects.values_list("verification_interval_days", flat=True)) == {365}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"collection": 1}, "title"),
        ({"title": "x"}, "collection"),
        ({"title": 5, "collection": 1}, "title"),
        ({"title": "x", "collection": "abc"}, "collection"),
        ({"title": "x", "collection": 10**30}, "collection"),
        ({"title": "x", "collection": None}, "collection"),
        ({"title": "x", "tags": "pricing"}, "tags"),
        ({"title": "x", "folders": [987654]}, "folders"),
        ({"title": "x", "verifier": {"type": "robot", "id": 1}}, "verifier.type"),
        ({"title": "x", "verifier": {"type": "group", "id": 987654}}, "verifier"),
        ({"title": "x", "title_extra": 1, "external_id": "a\u0000b"}, "external_id"),
        ({"title": "   "}, "title"),
    ],
)
def test_bad_input_names_the_field(api: Any, cast: Any, body: dict[str, Any], field: str) -> None:
    body = {**body}
    if body.get("collection") == 1:
        body["collection"] = cast.sales_collection.pk
    if "collection" not in body and field != "collection":
        body["collection"] = cast.sales_collection.pk
    response = api("author").post("/cards", body)
    assert response.status_code == 422, response.content
    errors = response.json()["errors"]
    assert field in [e["field"] for e in errors]
    assert all(e["message"] for e in errors)
    assert Card.objects.count() == 2


def test_malformed_json_and_bad_ids(api: Any, cast: Any) -> None:
    author = api("author")
    response = author.post("/cards", raw="{not json")
    assert response.status_code == 400
    assert response.json()["detail"] == "The request body is not valid JSON."
    response = author.patch(f"/cards/{cast.sales_card.pk}", raw="[1, 2")
    assert response.status_code == 400
    for path in ("/cards/abc", "/cards/1.5", f"/cards/{10**30}", "/cards/0"):
        response = author.get(path)
        assert response.status_code == 422, path
        assert response.json()["errors"][0]["field"] == "card_id"
    assert author.get("/cards/987654").status_code == 404


def test_read_only_and_unknown_fields_are_ignored(api: Any, cast: Any) -> None:
    response = api("author").post(
        "/cards",
        {
            "title": "Echoed back",
            "collection": cast.sales_collection.pk,
            "id": 999,
            "version": 40,
            "verification_state": "verified",
            "content_html": "<script>alert(1)</script>",
            "colour": "blue",
        },
    )
    assert response.status_code == 201
    body = response.json()
    assert body["id"] != 999
    assert body["version"] == 1
    assert body["verification_state"] == "unverified"
    assert body["content_html"] == ""
