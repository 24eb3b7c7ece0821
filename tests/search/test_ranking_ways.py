"""The three ways a query is ranked (verity.search.backends.base, NARROW_MATCHES): few
matches are scored and then kept if readable, more are scored inside the permission
filter, and a broad query scores its title and tag matches and its newest matches. The
thresholds are lowered here so a handful of cards exercises each way, on both backends."""

from __future__ import annotations

from typing import Any

import pytest

from verity.accounts import access
from verity.knowledge import services
from verity.knowledge.models import Card
from verity.search.analysis import parse_query
from verity.search.backends import base, get_backend
from verity.search.ranking import Fusion
from verity.search.services import SearchFilters, search_cards

pytestmark = pytest.mark.django_db


@pytest.fixture
def shelf(cast: Any) -> dict[str, Any]:
    """An old card with "quota" in its title, then many newer ones with it in the body
    only, in Sales and in Support (which a sales reader cannot read)."""

    def make(title: str, content: str, collection: Any, **extra: Any) -> Card:
        return services.card_create(
            user=cast.admin, collection=collection, title=title, content=content, **extra
        )

    titled = make("Quota relief", "How relief is granted.", cast.sales_collection)
    sales = [
        make(
            f"Sales note {n}", f"quota {'quota ' * (n % 3)}and pipeline {n}", cast.sales_collection
        )
        for n in range(8)
    ]
    support = [
        make(f"Support note {n}", "quota and tickets", cast.support_collection) for n in range(5)
    ]
    tagged = make("Territory plan", "Pipeline by region.", cast.sales_collection, tags=["quota"])
    return {"titled": titled, "tagged": tagged, "sales": sales, "support": support}


def ways(monkeypatch: pytest.MonkeyPatch, way: str) -> None:
    """Make every search take `way`."""
    settings = {
        "narrow": (10_000, 10_000, 1_000),
        "exact": (0, 10_000, 1_000),
        "broad": (0, 3, 4),
    }[way]
    for name, value in zip(
        ("NARROW_MATCHES", "BROAD_MATCHES", "BROAD_SAMPLE"), settings, strict=True
    ):
        monkeypatch.setattr(base, name, value)
    # A backend that ranks every match in production still has to get the other ways right.
    backend = type(get_backend())
    monkeypatch.setattr(backend, "scores_narrow_first", True)
    monkeypatch.setattr(backend, "samples_broad", True)
    monkeypatch.setattr(get_backend(), "memory", None)  # the database's own ways


def ranking(user: Any, query: str, **kwargs: Any) -> tuple[list[int], int]:
    results = search_cards(user=user, query=query, use_semantic=False, **kwargs)
    return [r.card.pk for r in results.results], results.total


@pytest.mark.parametrize(
    ("who", "query", "filters"),
    [
        ("sales_reader", "quota", SearchFilters()),
        ("admin", "quota", SearchFilters()),
        ("sales_reader", "quota pipeline", SearchFilters()),
        ("sales_reader", "quota -relief", SearchFilters()),
        ("admin", "quota", SearchFilters(tag="quota")),
        ("support_reader", "quota tickets", SearchFilters()),
        ("outsider", "quota", SearchFilters()),
    ],
)
def test_scoring_few_matches_then_filtering_equals_ranking_inside_the_filter(
    cast: Any,
    shelf: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
    who: str,
    query: str,
    filters: SearchFilters,
) -> None:
    user = getattr(cast, who)
    ways(monkeypatch, "exact")
    expected = ranking(user, query, filters=filters)
    ways(monkeypatch, "narrow")
    assert ranking(user, query, filters=filters) == expected
    assert ranking(user, query, filters=filters, limit=3, offset=2)[0] == expected[0][2:5]


def test_a_broad_query_ranks_title_and_tag_matches_and_counts_every_match(
    cast: Any, shelf: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    ways(monkeypatch, "broad")
    # (A pool as small as the sample: the ranking asks for 100 cards, more than 4.)
    found, total = ranking(cast.sales_reader, "quota", limit=4, fusion=Fusion(pool=4))
    # The old title and tag matches are scored although newer body matches fill the sample.
    assert found[:2] == [shelf["titled"].pk, shelf["tagged"].pk]
    assert total == 10  # every readable match: title, tag and the eight Sales notes
    newest = sorted((c.pk for c in shelf["sales"]), reverse=True)[:4]
    assert set(found) <= {shelf["titled"].pk, shelf["tagged"].pk, *newest}
    ways(monkeypatch, "exact")
    exact, _ = ranking(cast.sales_reader, "quota", limit=4, fusion=Fusion(pool=4))
    assert exact != found  # the sample did leave out older body matches that score higher


def test_exact_ranking_is_kept_where_a_sample_would_mislead(
    cast: Any, shelf: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    ways(monkeypatch, "broad")
    backend = get_backend()
    allowed = base.Allowed(access.cards_for(cast.sales_reader), None)
    exact = backend.ranked(
        parse_query("quota"), allowed, match_all=True, limit=20, offset=0, exact=True
    )
    assert len(exact.hits) == exact.total == 10  # every match scored, old ones too
    # A page past the sample is ranked exactly as well, so paging never skips a card.
    deep = search_cards(user=cast.sales_reader, query="quota", limit=4, offset=4)
    ways(monkeypatch, "exact")
    same = search_cards(user=cast.sales_reader, query="quota", limit=4, offset=4)
    assert [r.card.pk for r in deep.results] == [r.card.pk for r in same.results]
    assert deep.total == same.total == 10
