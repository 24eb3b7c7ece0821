"""The lexical index held in memory: FTS5's own BM25 ranking, computed with numpy.

Why: at 100k cards, FTS5's bm25() costs a few microseconds per match plus a pass over each
query term's whole posting list, and Django adds its own time on top: a search with a few
thousand matches took 40 ms. The same scores computed over arrays take 2-3 ms.

What: every indexed card's terms with their weighted counts (title, tags and body weighted
as in the FTS5 query), as posting lists sorted by term (so a prefix is a contiguous range),
plus each card's length and collection. The score is FTS5's bm25() to the last detail (the
same k1, b, IDF floor, document length and average), so a search ranks the same whichever
index answers it; tests/search/test_memory_index.py holds the two side by side.

What it leaves to FTS5 (ranked() returns None): quoted phrases (they need positions), any
filter beyond the readable collections (tags, folders, states: the database knows those),
words outside plain Latin and Cyrillic letters and digits (FTS5 folds some of those unlike
Python), and searches inside a transaction (its uncommitted rows would otherwise stay in
memory after a rollback).

Staying current: each change to the full-text index takes the next serial in IndexChange,
inside the same write. Every search reads the highest serial (one index lookup) and loads
only the cards changed since; they live in a small overlay beside the sorted arrays until
enough have changed to rebuild (for a large index in a thread, while FTS5 answers).
"""

from __future__ import annotations

import bisect
import math
import re
import sqlite3
import threading
from array import array
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Protocol, cast

import numpy as np
from django.db import connection

from verity.search.analysis import ParsedQuery, prefix_stem
from verity.search.backends.base import SearchHit, SearchPage

# The full-text index's tokenizer (verity.search.backends.sqlite).
TOKENIZER = "unicode61 remove_diacritics 2"
# FTS5's bm25() constants (fts5_aux.c): the in-memory scores must be FTS5's.
K1 = 1.2
B = 0.75
IDF_FLOOR = 1e-6

# Analysed text in these letters is split by FTS5's unicode61 tokenizer exactly as by
# str.split(); anything else (accents, which it folds, rarer scripts, whose case folding and
# letter tables differ from Python's) goes through a real FTS5 tokenizer.
_PLAIN_TEXT = re.compile(r"[0-9a-z\u0430-\u044f\u0451 ]*")
_tokenizer = threading.local()


def fts_terms(text: str) -> list[str]:
    """The terms FTS5 makes of analysed text (stems separated by spaces)."""
    if _PLAIN_TEXT.fullmatch(text):
        return text.split()
    db = getattr(_tokenizer, "db", None)
    if db is None:
        db = _tokenizer.db = sqlite3.connect(":memory:")
        db.execute(f"CREATE VIRTUAL TABLE t USING fts5(a, tokenize = '{TOKENIZER}')")
        db.execute("CREATE VIRTUAL TABLE v USING fts5vocab(t, 'instance')")
    db.execute("INSERT INTO t (rowid, a) VALUES (1, ?)", [text])
    terms = [term for (term,) in db.execute("SELECT term FROM v ORDER BY offset")]
    db.execute("DELETE FROM t")
    return terms


# Query terms FTS5 reads as they are (see _PLAIN_TEXT); queries with others go to FTS5.
_PLAIN_TERM = re.compile(r"[0-9a-z\u0430-\u044f\u0451]+")


def is_plain_term(term: str | None) -> bool:
    return term is not None and _PLAIN_TERM.fullmatch(term) is not None


@dataclass(frozen=True)
class IndexedDocument:
    card_id: int
    collection_id: int
    title: str  # analysed text, as stored in the full-text index
    tags: str
    body: str


class DocumentSource(Protocol):
    """What the in-memory index needs from a backend."""

    # Weights of title, tags and body in the score, as in the backend's own ranking.
    field_weights: tuple[float, float, float]
    # Tokens each row holds outside title, tags and body (FTS5 counts them in its length).
    extra_length: int

    def documents(self, card_ids: list[int] | None = None) -> Iterator[IndexedDocument]:
        """Indexed cards (all, or those of `card_ids` still indexed)."""
        ...

    def document_count(self) -> int: ...

    def last_change(self) -> int:
        """The serial of the latest change (0: none recorded)."""
        ...

    def changes_after(self, serial: int) -> list[tuple[int, int]]:
        """(card id, serial) of every change after `serial`; card id 0: every card."""
        ...


class _Postings:
    """Posting lists of many cards at once, sorted by term (a prefix is one range)."""

    def __init__(self, entries: Iterable[tuple[int, dict[str, float]]] = ()) -> None:
        # Typed arrays while reading: at 100k cards there are some 15 million postings.
        vocabulary: dict[str, int] = {}
        term_ids = array("i")
        slots = array("i")
        freqs = array("f")
        for slot, counts in entries:
            for term in [t for t in counts if t not in vocabulary]:
                vocabulary[term] = len(vocabulary)
            term_ids.extend(map(vocabulary.__getitem__, counts))
            slots.extend([slot] * len(counts))
            freqs.extend(counts.values())
        self.terms = sorted(vocabulary)
        rank = np.empty(len(vocabulary), dtype=np.int64)
        rank[[vocabulary[t] for t in self.terms]] = np.arange(len(self.terms))
        by_term = rank[np.frombuffer(term_ids, dtype=np.int32)] if term_ids else rank[:0]
        del term_ids
        order = np.argsort(by_term, kind="stable")  # slots stay ascending within a term
        self.slots = np.frombuffer(slots, dtype=np.int32)[order]
        self.freqs = np.frombuffer(freqs, dtype=np.float32)[order]
        self.bounds = np.searchsorted(by_term[order], np.arange(len(self.terms) + 1))
        self.position = {t: i for i, t in enumerate(self.terms)}

    def of_term(self, term: str) -> tuple[np.ndarray, np.ndarray]:
        i = self.position.get(term)
        if i is None:
            return _NO_SLOTS, _NO_FREQS
        start, end = self.bounds[i], self.bounds[i + 1]
        return self.slots[start:end], self.freqs[start:end]

    def of_prefix(self, prefix: str) -> tuple[np.ndarray, np.ndarray]:
        """Every posting of every term starting with `prefix` (a card can appear twice)."""
        first = bisect.bisect_left(self.terms, prefix)
        last = bisect.bisect_left(self.terms, prefix + "\U0010ffff", first)
        start, end = self.bounds[first], self.bounds[last]
        return self.slots[start:end], self.freqs[start:end]


_NO_SLOTS = np.zeros(0, dtype=np.int32)
_NO_FREQS = np.zeros(0, dtype=np.float32)


def _with_overlay(
    slots: np.ndarray, freqs: np.ndarray, overlay: list[dict[int, float]]
) -> tuple[np.ndarray, np.ndarray]:
    """Base postings followed by overlay postings (slot → weighted count)."""
    if not overlay:
        return slots, freqs
    return (
        np.concatenate([slots, *(np.fromiter(o.keys(), np.int32, len(o)) for o in overlay)]),
        np.concatenate([freqs, *(np.fromiter(o.values(), np.float32, len(o)) for o in overlay)]),
    )


class MemoryIndex:
    # Cards changed since the last build are kept in an overlay; past this many (or a tenth
    # of the index) the arrays are rebuilt.
    OVERLAY_LIMIT = 2_000
    # Up to this many cards the arrays are built during the search that needs them (about
    # 1.5 s); above, in a thread, while FTS5 answers (100k cards take about half a minute).
    BUILD_INLINE_UPTO = 5_000
    # Readable-collection masks kept (one per permission set seen; 100 kB each at 100k).
    MASKS_KEPT = 64

    def __init__(self, source: DocumentSource, *, in_transactions: bool = False) -> None:
        self.source = source
        # Whether to answer inside a transaction (tests, which roll theirs back afterwards).
        self.in_transactions = in_transactions
        self._lock = threading.RLock()
        self._building = threading.Lock()
        self._ready = False
        self._serial = -1
        self._reset()

    # ------------------------------------------------------------------ loading

    def _reset(self) -> None:
        self._slot_of: dict[int, int] = {}
        self._ids = np.zeros(0, dtype=np.int64)
        self._collections = np.zeros(0, dtype=np.int64)
        self._lengths = np.zeros(0, dtype=np.float64)
        self._alive = np.zeros(0, dtype=bool)
        self._size = 0
        self._base = _Postings()
        self._in_base = np.zeros(0, dtype=bool)  # the slot's postings in _base are current
        self._overlay: dict[int, dict[str, float]] = {}  # slot → terms, for cards changed since
        self._overlay_postings: dict[str, dict[int, float]] = {}
        self._overlay_terms: list[str] | None = []  # sorted, None when stale
        self._total_length = 0.0
        self._masks: dict[tuple[int, ...] | None, np.ndarray] = {}

    def _counts(self, doc: IndexedDocument) -> tuple[dict[str, float], int]:
        """The card's terms with their weighted counts, and its length in tokens."""
        title_weight, tags_weight, body_weight = self.source.field_weights
        body = fts_terms(doc.body)
        # The long field first, counted in C (Counter's ints are the weights' floats here).
        counts = cast(dict[str, float], Counter(body))
        if body_weight != 1:
            counts = {term: n * body_weight for term, n in counts.items()}
        title, tags = fts_terms(doc.title), fts_terms(doc.tags)
        for term in title:
            counts[term] = counts.get(term, 0) + title_weight
        for term in tags:
            counts[term] = counts.get(term, 0) + tags_weight
        return counts, len(body) + len(title) + len(tags) + self.source.extra_length

    def _slot(self, card_id: int) -> int:
        slot = self._slot_of.get(card_id)
        if slot is None:
            if self._size == len(self._ids):
                extra = max(1024, len(self._ids))
                self._ids = np.concatenate([self._ids, np.zeros(extra, dtype=np.int64)])
                self._collections = np.concatenate(
                    [self._collections, np.zeros(extra, dtype=np.int64)]
                )
                self._lengths = np.concatenate([self._lengths, np.zeros(extra)])
                self._alive = np.concatenate([self._alive, np.zeros(extra, dtype=bool)])
                self._in_base = np.concatenate([self._in_base, np.zeros(extra, dtype=bool)])
            slot = self._slot_of[card_id] = self._size
            self._ids[slot] = card_id
            self._size += 1
        return slot

    def _build(self, serial: int) -> None:
        """Load every indexed card (the caller holds _building, not _lock: searches go on)."""
        fresh = MemoryIndex(self.source)

        def entries() -> Iterator[tuple[int, dict[str, float]]]:
            for doc in self.source.documents():
                slot = fresh._slot(doc.card_id)
                counts, length = fresh._counts(doc)
                fresh._collections[slot] = doc.collection_id
                fresh._lengths[slot] = length
                fresh._alive[slot] = True
                fresh._total_length += length
                yield slot, counts

        fresh._base = _Postings(entries())
        fresh._in_base[: fresh._size] = True
        with self._lock:
            for name in (
                "_slot_of", "_ids", "_collections", "_lengths", "_alive", "_size", "_base",
                "_in_base", "_overlay", "_overlay_postings", "_overlay_terms", "_total_length",
                "_masks",
            ):  # fmt: skip
                setattr(self, name, getattr(fresh, name))
            self._serial = serial
            self._ready = True

    def _apply(self, docs: Iterable[IndexedDocument], card_ids: set[int]) -> None:
        """Cards that changed: `docs` are those still indexed, the rest of `card_ids` left."""
        self._masks.clear()
        self._overlay_terms = None
        for doc in docs:
            card_ids.discard(doc.card_id)
            slot = self._slot(doc.card_id)
            self._forget(slot)
            counts, length = self._counts(doc)
            self._overlay[slot] = counts
            for term, freq in counts.items():
                self._overlay_postings.setdefault(term, {})[slot] = freq
            self._collections[slot] = doc.collection_id
            self._lengths[slot] = length
            self._alive[slot] = True
            self._total_length += length
        for card_id in card_ids:
            gone = self._slot_of.get(card_id)
            if gone is not None:
                self._forget(gone)

    def _forget(self, slot: int) -> None:
        if self._alive[slot]:
            self._alive[slot] = False
            self._total_length -= self._lengths[slot]
        self._in_base[slot] = False
        for term in self._overlay.pop(slot, ()):
            postings = self._overlay_postings[term]
            del postings[slot]
            if not postings:
                del self._overlay_postings[term]

    def refresh(self) -> bool:
        """Catch up with the database; False while the index is not (yet) usable."""
        serial = self.source.last_change()
        with self._lock:
            if self._ready and serial == self._serial:
                return True
            changes = self.source.changes_after(self._serial) if self._ready else []
            incremental = (
                self._ready
                and serial > self._serial
                and all(card_id for card_id, _ in changes)
                and len(self._overlay) + len(changes) <= max(self.OVERLAY_LIMIT, self._size // 10)
            )
            if incremental:
                ids = {card_id for card_id, _ in changes}
                self._apply(self.source.documents(sorted(ids)), ids)
                self._serial = max([serial, *(s for _, s in changes)])
                return True
        return self._rebuild(serial)

    def _rebuild(self, serial: int) -> bool:
        if self._building.locked():
            return False  # a build is under way: the database answers meanwhile
        if self.source.document_count() <= self.BUILD_INLINE_UPTO:
            with self._building:
                self._build(serial)
            return True
        if self._building.acquire(blocking=False):
            with self._lock:
                self._ready = False  # FTS5 answers until the new arrays are in

            def run() -> None:
                try:
                    self._build(serial)
                finally:
                    connection.close()  # this thread's own connection
                    self._building.release()

            threading.Thread(target=run, name="verity-memory-index", daemon=True).start()
        return False

    # ------------------------------------------------------------------ searching

    def _of_term(self, term: str) -> tuple[np.ndarray, np.ndarray]:
        slots, freqs = self._current(*self._base.of_term(term))
        extra = self._overlay_postings.get(term)
        return _with_overlay(slots, freqs, [extra] if extra else [])

    def _of_prefix(self, prefix: str) -> tuple[np.ndarray, np.ndarray]:
        slots, freqs = self._current(*self._base.of_prefix(prefix))
        if self._overlay_postings:
            if self._overlay_terms is None:
                self._overlay_terms = sorted(self._overlay_postings)
            terms = self._overlay_terms
            first = bisect.bisect_left(terms, prefix)
            last = bisect.bisect_left(terms, prefix + "\U0010ffff", first)
            extra = [self._overlay_postings[t] for t in terms[first:last]]
            slots, freqs = _with_overlay(slots, freqs, extra)
        # A card holding several terms with the prefix counts all of them, once.
        summed = np.bincount(slots, weights=freqs, minlength=self._size)
        slots = np.flatnonzero(np.bincount(slots, minlength=self._size)).astype(np.int32)
        return slots, summed[slots]

    def _current(self, slots: np.ndarray, freqs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Drop base postings of cards changed since the arrays were built."""
        if slots.size and not self._in_base[slots].all():
            keep = self._in_base[slots]
            return slots[keep], freqs[keep]
        return slots, freqs

    def _allowed(self, collections: list[int] | None) -> np.ndarray:
        key = None if collections is None else tuple(sorted(set(collections)))
        mask = self._masks.get(key)
        if mask is None:
            mask = self._alive[: self._size].copy()
            if key is not None:
                mask &= np.isin(self._collections[: self._size], np.array(key, dtype=np.int64))
            if len(self._masks) >= self.MASKS_KEPT:
                self._masks.clear()
            self._masks[key] = mask
        return mask

    def ranked(
        self,
        parsed: ParsedQuery,
        collections: list[int] | None,
        *,
        match_all: bool,
        limit: int,
        offset: int,
    ) -> SearchPage | None:
        """One page of the cards in `collections` (None: all) matching the query, ranked
        by bm25 as FTS5 would; None when this index cannot answer (see the module doc)."""
        stem = prefix_stem(parsed)
        prefixes = [p for p in dict.fromkeys([stem, parsed.prefix]) if p]
        if (
            parsed.phrases
            or (connection.in_atomic_block and not self.in_transactions)
            or not all(is_plain_term(t) for t in [*parsed.terms, *parsed.excluded, *prefixes])
            or not self.refresh()
        ):
            return None
        with self._lock:
            return self._ranked(parsed.terms, prefixes, parsed.excluded, collections,
                                match_all=match_all, limit=limit, offset=offset)  # fmt: skip

    def _ranked(
        self,
        terms: list[str],
        prefixes: list[str],
        excluded: list[str],
        collections: list[int] | None,
        *,
        match_all: bool,
        limit: int,
        offset: int,
    ) -> SearchPage:
        size = self._size
        alive = int(self._alive[:size].sum())
        if not alive:
            return SearchPage()
        # The query's phrases in FTS5's order (words, then the prefix's options), and the
        # operands that must all match: each word, and the prefix in any of its forms.
        phrases = [self._of_term(t) for t in terms] + [self._of_prefix(p) for p in prefixes]
        operands = [[p] for p in phrases[: len(terms)]]
        if prefixes:
            operands.append(phrases[len(terms) :])
        matched = np.zeros(size, dtype=np.int16)
        for operand in operands:
            if len(operand) == 1:
                matched[operand[0][0]] += 1
            else:  # a card holding several forms of the prefix counts once
                holds = np.zeros(size, dtype=bool)
                for slots, _ in operand:
                    holds[slots] = True
                matched += holds
        wanted = (matched == len(operands)) if match_all else (matched > 0)
        wanted &= self._allowed(collections)
        for term in excluded:
            wanted[self._of_term(term)[0]] = False
        found = np.flatnonzero(wanted)
        total = int(found.size)
        if not total:
            return SearchPage()

        average = self._total_length / alive
        scores = np.zeros(size)
        for slots, freqs in phrases:
            holders = slots.size  # each of a phrase's slots is a distinct, current card
            idf = math.log((alive - holders + 0.5) / (holders + 0.5))
            idf = idf if idf > 0 else IDF_FLOOR
            f = freqs.astype(np.float64)
            damping = K1 * (1 - B + B * self._lengths[slots] / average)
            scores[slots] += idf * ((f * (K1 + 1.0)) / (f + damping))

        found_scores = scores[found]
        wanted_count = offset + limit
        if found.size > wanted_count:
            # Keep every card tied with the last one in, so ties break by id as in SQL.
            cut = -np.partition(-found_scores, wanted_count - 1)[wanted_count - 1]
            keep = found_scores >= cut
            found, found_scores = found[keep], found_scores[keep]
        card_ids = self._ids[found]
        order = np.lexsort((card_ids, -found_scores))[offset:wanted_count]
        hits = [SearchHit(int(card_ids[i]), float(found_scores[i])) for i in order]
        return SearchPage(hits=hits, total=total)
