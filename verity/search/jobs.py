"""Background jobs of search: computing card vectors."""

from __future__ import annotations

from datetime import timedelta

from verity.core.jobs import enqueue, job, periodic
from verity.search import semantic

# A job embeds for about this long, then queues its successor, so other jobs (emails,
# expiry) get their turn on a worker busy with a large import.
CARDS_PER_JOB = 500


@job(semantic.EMBED_JOB)
def embed_cards() -> int:
    done = semantic.embed_pending(max_cards=CARDS_PER_JOB)
    if done == CARDS_PER_JOB and semantic.pending().exists():
        enqueue(semantic.EMBED_JOB)
    return done


@periodic("search.embed_sweep", every=timedelta(minutes=5))
def embed_sweep() -> int:
    """Catches cards whose job was lost (written while the model was off, say)."""
    if semantic.get_embedder() is None or not semantic.pending().exists():
        return 0
    return embed_cards()
