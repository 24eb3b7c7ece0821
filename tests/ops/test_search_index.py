"""`verity search rebuild` / `verity search status`."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from verity.knowledge import services
from verity.search.backends import get_backend
from verity.search.management.commands.search import index_status
from verity.search.services import search_cards


def run(*args: str) -> str:
    out = StringIO()
    call_command("search", *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def many_cards(cast) -> list:
    cards = [cast.sales_card, cast.support_card]
    for n in range(12):
        cards.append(
            services.card_create(
                user=cast.author,
                collection=cast.sales_collection,
                title=f"Battlecard {n} against Northwind",
                content=f"Quasar pricing objection number {n}: lead with total cost.",
                tags=["competitors"],
                verifier_user=cast.author,
            )
        )
    return cards


def test_rebuild_makes_every_card_findable_after_the_index_was_emptied(cast, many_cards) -> None:
    assert search_cards(user=cast.admin, query="quasar", limit=50).total == 12
    get_backend().clear()
    assert search_cards(user=cast.admin, query="quasar").total == 0
    assert search_cards(user=cast.sales_reader, query="discount").total == 0

    output = run("rebuild", "--no-progress")

    assert "Indexed 14 cards" in output
    found = search_cards(user=cast.admin, query="quasar", limit=50)
    assert found.total == 12
    assert {r.card.pk for r in found.results} == {c.pk for c in many_cards[2:]}
    assert search_cards(user=cast.sales_reader, query="discount").total == 1
    assert search_cards(user=cast.support_reader, query="refund").total == 1


def test_rebuild_keeps_permissions_outsider_still_finds_nothing(cast, many_cards) -> None:
    get_backend().clear()
    run("rebuild", "--no-progress")
    for query in ("quasar", "discount", "refund", "battlecard"):
        assert search_cards(user=cast.outsider, query=query).total == 0
    # The support reader cannot read the sales collection, rebuilt index or not.
    assert search_cards(user=cast.support_reader, query="quasar").total == 0


def test_rebuild_leaves_archived_cards_out(cast, many_cards) -> None:
    services.card_archive(user=cast.author, card=many_cards[2])
    get_backend().clear()
    run("rebuild", "--no-progress")
    assert search_cards(user=cast.admin, query="quasar", limit=50).total == 11


def test_rebuild_draws_a_progress_bar(cast, many_cards) -> None:
    assert "14/14" in run("rebuild")


def test_status_reports_missing_cards_and_check_fails_until_rebuilt(cast, many_cards) -> None:
    output = run("status")
    assert "in sync" in output
    assert index_status()["indexed"] == 14

    get_backend().clear()
    status = index_status()
    assert status["cards"] == 14 and status["indexed"] == 0 and status["missing"] == 14
    assert not status["in_sync"]
    assert "out of sync" in run("status")
    with pytest.raises(CommandError):
        run("status", "--check")

    run("rebuild", "--no-progress")
    assert index_status()["in_sync"]
    assert "in sync" in run("status", "--check")


def test_search_pages_count_every_match_even_past_the_end(cast, many_cards) -> None:
    first = search_cards(user=cast.sales_reader, query="quasar", limit=5, offset=0)
    last = search_cards(user=cast.sales_reader, query="quasar", limit=5, offset=10)
    beyond = search_cards(user=cast.sales_reader, query="quasar", limit=5, offset=20)
    assert (first.total, len(first.results)) == (12, 5)
    assert (last.total, len(last.results)) == (12, 2)
    assert (beyond.total, len(beyond.results)) == (12, 0)
    assert not {r.card.pk for r in first.results} & {r.card.pk for r in last.results}
    assert search_cards(user=cast.outsider, query="quasar", limit=5, offset=20).total == 0
