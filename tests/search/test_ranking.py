"""Trust-aware ranking, typo tolerance and the filters of search."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from verity.knowledge import services
from verity.knowledge.models import Card
from verity.search import ranking
from verity.search.analysis import parse_query
from verity.search.backends import SearchHit
from verity.search.services import SearchFilters, search_cards

pytestmark = pytest.mark.django_db


def make(cast: Any, title: str, content: str = "", **extra: Any) -> Card:
    extra.setdefault("collection", cast.sales_collection)
    return services.card_create(user=cast.author, title=title, content=content, **extra)


# ---------------------------------------------------------------- trust


@pytest.mark.parametrize("verified_first_created", [True, False])
def test_a_verified_card_wins_a_tie_with_a_stale_one(
    cast: Any, verified_first_created: bool
) -> None:
    text = "Quote approval goes through the deal desk."
    a = make(cast, "Quote approval", text)
    b = make(cast, "Quote approval", text)
    verified = a if verified_first_created else b
    services.card_verify(user=cast.author, card=verified)
    found = [r.card for r in search_cards(user=cast.sales_reader, query="quote approval").results]
    assert found[0] == verified


def test_trust_does_not_overtake_a_clearly_better_match(cast: Any) -> None:
    better = make(cast, "Quote approval", "Quote approval goes through the deal desk.")
    weaker = make(cast, "Deal desk hours", "Open on weekdays; quote approval questions welcome.")
    services.card_verify(user=cast.author, card=weaker)
    found = [r.card for r in search_cards(user=cast.sales_reader, query="quote approval").results]
    assert found.index(better) < found.index(weaker)


def test_fusion_scales_each_side_and_respects_the_floor() -> None:
    fusion = ranking.Fusion(semantic_weight=0.5, floor=0.8, join=0.84, trust_bonus=0.0)
    lexical = [SearchHit(1, 10.0), SearchHit(2, 5.0)]
    meaning = {1: 0.79, 2: 0.90, 3: 0.85, 4: 0.82, 5: 0.5}
    fused = ranking.fuse(lexical, meaning, fusion)
    # 4 and 5 share no word with the query and are not close enough to join by meaning.
    assert set(fused) == {1, 2, 3}
    assert fused[1] == (0.5, 1.0, 0.0)
    assert fused[2] == pytest.approx((0.75, 0.5, 1.0))
    assert fused[3] == pytest.approx((0.25, 0.0, 0.5))
    assert ranking.fuse(lexical, {}, fusion)[2][0] == 0.5  # no meaning: words alone


# ---------------------------------------------------------------- typos


def test_a_misspelt_query_finds_the_card_and_says_what_it_searched(cast: Any) -> None:
    results = search_cards(user=cast.sales_reader, query="discout aproval")
    assert [r.card for r in results.results] == [cast.sales_card]
    assert results.corrected == {"discout": "discount", "aproval": "approv"}


def test_russian_typos_too(cast: Any) -> None:
    card = make(cast, "Возврат средств", "Оформляем возврат в течение 14 дней.")
    results = search_cards(user=cast.sales_reader, query="вазврат")
    assert [r.card for r in results.results] == [card]


def test_correct_words_and_short_words_are_left_alone(cast: Any) -> None:
    assert search_cards(user=cast.sales_reader, query="discount").corrected == {}
    assert ranking.max_edits("cat") == 0
    assert ranking.max_edits("refund") == 1
    assert ranking.max_edits("discounts") == 2
    fixed, corrected = ranking.correct_spelling(parse_query("xyz"))
    assert corrected == {} and fixed.terms == parse_query("xyz").terms


def test_the_spelling_notice_is_on_the_page(cast: Any, client: Client) -> None:
    client.force_login(cast.sales_reader)
    page = client.get("/search/", {"q": "discout"}).content.decode()
    assert "Discount approval rules" in page
    assert "<s>discout</s>" in page


# ---------------------------------------------------------------- filters


@pytest.fixture
def filtered(cast: Any) -> dict[str, Card]:
    playbooks = services.folder_create(
        user=cast.admin, collection=cast.sales_collection, name="Playbooks"
    )
    emea = services.folder_create(
        user=cast.admin, collection=cast.sales_collection, name="EMEA", parent=playbooks
    )
    return {
        "in_sub": make(cast, "Pricing in EMEA", "pricing", folder_ids=[emea.pk]),
        "in_top": make(cast, "Pricing playbook", "pricing", folder_ids=[playbooks.pk]),
        "by_group": make(cast, "Pricing FAQ", "pricing", verifier_group=cast.support),
        "by_curator": services.card_create(
            user=cast.admin,
            collection=cast.sales_collection,
            title="Pricing history",
            content="pricing",
            owner=cast.curator,
        ),
        "folders": {"playbooks": playbooks, "emea": emea},  # type: ignore[dict-item]
    }


def found(cast: Any, **filters: Any) -> set[str]:
    results = search_cards(user=cast.admin, query="pricing", filters=SearchFilters(**filters))
    return {r.card.title for r in results.results}


def test_folder_filter_includes_subfolders(cast: Any, filtered: dict[str, Any]) -> None:
    folders = filtered["folders"]
    assert found(cast, folder_id=folders["playbooks"].pk) == {"Pricing in EMEA", "Pricing playbook"}
    assert found(cast, folder_id=folders["emea"].pk) == {"Pricing in EMEA"}


def test_verifier_filter_covers_people_and_their_groups(
    cast: Any, filtered: dict[str, Any]
) -> None:
    assert "Pricing FAQ" in found(cast, verifier_id=cast.support_reader.pk)  # via Support
    assert "Pricing FAQ" not in found(cast, verifier_id=cast.author.pk)
    assert "Pricing in EMEA" in found(cast, verifier_id=cast.author.pk)


def test_author_filter(cast: Any, filtered: dict[str, Any]) -> None:
    assert found(cast, author_id=cast.curator.pk) == {"Pricing history"}


def test_api_takes_the_same_filters(cast: Any, filtered: dict[str, Any], client: Client) -> None:
    client.force_login(cast.admin)
    folder = filtered["folders"]["emea"].pk
    body = client.get("/api/v1/search", {"q": "pricing", "folder": folder}).json()
    assert [item["card"]["title"] for item in body["items"]] == ["Pricing in EMEA"]
    body = client.get("/api/v1/search", {"q": "pricing", "author": cast.curator.pk}).json()
    assert [item["card"]["title"] for item in body["items"]] == ["Pricing history"]
    assert client.get("/api/v1/search", {"q": "x", "folder": "abc"}).status_code == 422


def test_filter_options_only_show_what_the_reader_can_see(
    cast: Any, filtered: dict[str, Any], client: Client
) -> None:
    client.force_login(cast.support_reader)
    page = client.get("/search/").content.decode()
    assert "Playbooks" not in page  # a Sales folder
    client.force_login(cast.sales_reader)
    page = client.get("/search/").content.decode()
    assert "Sales Playbook / Playbooks / EMEA" in page
