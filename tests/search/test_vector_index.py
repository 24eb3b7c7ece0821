"""The vector side's permission mask: whatever sequence of vector changes and moves between
collections happened, a search sees exactly the cards of the collections (and ids) it may,
with the vector each card has now."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from verity.search.semantic import DIMENSIONS, VectorIndex

CARDS = st.integers(min_value=1, max_value=12)
COLLECTIONS = st.integers(min_value=1, max_value=4)
# (card, collection, vector seed or None = the card lost its vector)
CHANGES = st.lists(st.tuples(CARDS, COLLECTIONS, st.none() | st.integers(0, 10**6)), max_size=40)


def vector(seed: int) -> np.ndarray:
    v = np.random.default_rng(seed).standard_normal(DIMENSIONS).astype(np.float32)
    return v / np.linalg.norm(v)


@settings(max_examples=150, deadline=None)
@given(
    changes=CHANGES,
    readable=st.none() | st.sets(COLLECTIONS),
    ids=st.none() | st.sets(CARDS),
    query_seed=st.integers(0, 10**6),
)
def test_top_sees_exactly_the_readable_cards_as_they_are_now(
    changes: list[tuple[int, int, int | None]],
    readable: set[int] | None,
    ids: set[int] | None,
    query_seed: int,
) -> None:
    index = VectorIndex()
    now: dict[int, tuple[int, int | None]] = {}  # card → (collection, vector seed)
    for card, collection, seed in changes:
        index._put(card, collection, None if seed is None else vector(seed).tobytes())
        now[card] = (collection, seed)
    query = vector(query_seed)

    expected = {
        card: float(vector(seed) @ query)
        for card, (collection, seed) in now.items()
        if seed is not None
        and (readable is None or collection in readable)
        and (ids is None or card in ids)
    }
    found = index.top(query, collections=readable, ids=ids, k=100, fresh=True)
    assert {card for card, _ in found} == set(expected)
    for card, score in found:
        assert abs(score - expected[card]) < 1e-5
    assert [s for _, s in found] == sorted((s for _, s in found), reverse=True)

    assert len(index) == sum(1 for _, seed in now.values() if seed is not None)
    every = index.scores(query, list(now), fresh=True)
    assert set(every) == {card for card, (_, seed) in now.items() if seed is not None}
