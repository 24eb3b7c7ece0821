"""Search, tags, trust score and the verification queue: only readable cards, ever."""

from __future__ import annotations

from typing import Any

from verity.knowledge import services


def test_search_returns_readable_cards_with_snippets(api: Any, cast: Any) -> None:
    response = api("sales_reader").get("/search", q="approval")
    assert response.status_code == 200
    body = response.json()
    assert body["total"] == 1
    assert body["query"] == "approval"
    hit = body["items"][0]
    assert hit["card"]["id"] == cast.sales_card.pk
    assert hit["card"]["verification_state"] == "unverified"
    assert hit["card"]["verifier"] == {"type": "user", "id": cast.author.pk}
    assert "content" not in hit["card"]
    assert isinstance(hit["score"], float)
    assert "<mark>approval</mark>" in hit["snippet"]


def test_search_is_ranked_and_filtered(api: Any, cast: Any) -> None:
    title_hit = services.card_create(
        user=cast.author,
        collection=cast.sales_collection,
        title="Discount desk",
        tags=["deal-desk"],
    )
    body_hit = services.card_create(
        user=cast.author,
        collection=cast.sales_collection,
        title="Deal review",
        content="Bring the discount history to the review.",
    )
    body = api("sales_reader").get("/search", q="discount").json()
    assert body["total"] == 3
    ranked = [h["card"]["id"] for h in body["items"]]
    assert set(ranked) == {title_hit.pk, cast.sales_card.pk, body_hit.pk}
    assert ranked[-1] == body_hit.pk  # a title match outranks a body match
    assert "<mark>discount</mark>" in body["items"][-1]["snippet"].lower()
    tagged = api("sales_reader").get("/search", q="discount", tag="pricing").json()
    assert [h["card"]["id"] for h in tagged["items"]] == [cast.sales_card.pk]
    paged = api("sales_reader").get("/search", q="discount", limit=1, offset=1).json()
    assert paged["total"] == 3
    assert len(paged["items"]) == 1
    assert api("sales_reader").get("/search", q="discount", state="verified").json()["total"] == 0
    assert api("sales_reader").get("/search", q="discount", limit=10**6).status_code == 422
    assert api("sales_reader").get("/search", q="discount", state="nope").status_code == 422


def test_outsider_finds_nothing(api: Any, cast: Any) -> None:
    for q in ("discount", "refund", "approval", "support"):
        body = api("outsider").get("/search", q=q).json()
        # The body also carries search_id, corrected and semantic; what matters here is that
        # nothing was found.
        assert {key: body[key] for key in ("query", "total", "count", "items")} == {
            "query": q,
            "total": 0,
            "count": 0,
            "items": [],
        }
    support = api("support_reader").get("/search", q="discount").json()
    assert support["total"] == 0
    # Filtering by an unreadable collection does not open it.
    body = (
        api("support_reader")
        .get("/search", q="discount", collection=cast.sales_collection.pk)
        .json()
    )
    assert body["total"] == 0


def test_tags_count_readable_cards_only(api: Any, cast: Any) -> None:
    services.card_create(
        user=cast.author, collection=cast.sales_collection, title="Tiers", tags=["pricing"]
    )
    sales = {t["name"]: t["count"] for t in api("sales_reader").get("/tags").json()["items"]}
    assert sales == {"pricing": 2, "discounts": 1}
    support = {t["name"]: t["count"] for t in api("support_reader").get("/tags").json()["items"]}
    assert support == {"refunds": 1}
    assert api("outsider").get("/tags").json() == {"items": [], "count": 0}
    assert [t["name"] for t in api("curator").get("/tags", q="ref").json()["items"]] == ["refunds"]


def test_trust_score(api: Any, cast: Any) -> None:
    services.card_verify(user=cast.author, card=cast.sales_card)
    curator = api("curator").get("/trust").json()
    assert curator["overall"] == {"verified": 1, "total": 2, "percent": 50}
    by_name = {c["name"]: c for c in curator["collections"]}
    assert by_name["Sales Playbook"]["percent"] == 100
    assert by_name["Support Runbooks"]["percent"] == 0
    support = api("support_reader").get("/trust").json()
    assert support["overall"] == {"verified": 0, "total": 1, "percent": 0}
    assert [c["name"] for c in support["collections"]] == ["Support Runbooks"]
    outsider = api("outsider").get("/trust").json()
    assert outsider == {"overall": {"verified": 0, "total": 0, "percent": None}, "collections": []}


def test_queue_for_group_verifier(api: Any, cast: Any) -> None:
    card = services.card_create(
        user=cast.curator,
        collection=cast.sales_collection,
        title="Group-owned",
        verifier_group=cast.sales,
    )
    queue = api("sales_reader").get("/me/queue").json()
    assert [c["id"] for c in queue["items"]] == [card.pk]
    assert api("outsider").get("/me/queue").json()["count"] == 0


def test_search_query_count_does_not_grow(
    api: Any, cast: Any, django_assert_max_num_queries: Any
) -> None:
    for i in range(25):
        services.card_create(
            user=cast.author,
            collection=cast.sales_collection,
            title=f"Pricing note {i}",
            tags=[f"t{i}"],
            verifier_group=cast.sales,
        )
    reader = api("sales_reader")
    reader.get("/me")  # the token's last-used stamp is written once, outside the measurement
    # The search itself needed 8 at most; recording it adds 2 (the search being typed, which
    # it may extend, then the write) and ranking 1 (which of the hits are verified). A fixed
    # budget with 26 results still catches a query per result.
    with django_assert_max_num_queries(11):
        body = reader.get("/search", q="pricing", limit=30).json()
    assert body["total"] == 26  # the 25 notes and the card tagged "pricing"
    assert len(body["items"]) == 26
