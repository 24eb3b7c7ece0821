"""A small durable job queue: rows in the database, claimed by `verity worker`.

Why not a broker: the embedded install has only a database. Jobs are claimed with a
conditional UPDATE (safe with several workers), retried with backoff, and a job whose
worker died is picked up again once its claim is older than CLAIM_TIMEOUT.
"""

from __future__ import annotations

import logging
import os
import socket
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from verity.core.models import Job, PeriodicRun

log = logging.getLogger(__name__)

CLAIM_TIMEOUT = timedelta(minutes=10)
JobFunc = Callable[..., Any]
_registry: dict[str, JobFunc] = {}


@dataclass(frozen=True)
class Periodic:
    name: str
    every: timedelta
    func: JobFunc


_periodic: list[Periodic] = []


def job(name: str) -> Callable[[JobFunc], JobFunc]:
    """Register a function as a background job under a stable name."""

    def register(func: JobFunc) -> JobFunc:
        _registry[name] = func
        return func

    return register


def periodic(name: str, every: timedelta) -> Callable[[JobFunc], JobFunc]:
    """Register a function the worker runs on a schedule (once per interval across workers)."""

    def register(func: JobFunc) -> JobFunc:
        _periodic.append(Periodic(name, every, func))
        return func

    return register


def enqueue(
    name: str, run_after_seconds: float = 0, *, unique: bool = False, **payload: Any
) -> None:
    """Queue a job once the surrounding transaction commits (none for a rolled-back write).
    `unique`: not if the same job is already waiting (for jobs that do all pending work)."""
    if name not in _registry:
        raise KeyError(f"unknown job {name!r}")

    def create() -> None:
        if settings.VERITY_RUN_JOBS_INLINE:
            _registry[name](**payload)
            return
        if unique and Job.objects.filter(name=name, state=Job.State.QUEUED).exists():
            return
        Job.objects.create(
            name=name,
            payload=payload,
            run_after=timezone.now() + timedelta(seconds=run_after_seconds),
        )

    transaction.on_commit(create)


def worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"[:100]


def claim_next(now: Any = None) -> Job | None:
    now = now or timezone.now()
    ready = Q(state=Job.State.QUEUED, run_after__lte=now) | Q(
        state=Job.State.RUNNING, claimed_at__lt=now - CLAIM_TIMEOUT
    )
    for candidate in Job.objects.filter(ready).order_by("run_after", "id")[:5]:
        claimed = Job.objects.filter(
            pk=candidate.pk, state=candidate.state, claimed_at=candidate.claimed_at
        ).update(state=Job.State.RUNNING, claimed_at=now, claimed_by=worker_id())
        if claimed:
            candidate.refresh_from_db()
            return candidate
    return None


def run_job(job_row: Job) -> bool:
    """Run one claimed job; on failure schedule a retry with exponential backoff."""
    func = _registry.get(job_row.name)
    job_row.attempts += 1
    try:
        if func is None:
            raise LookupError(f"no job registered as {job_row.name!r}")
        func(**job_row.payload)
    except Exception:
        job_row.last_error = traceback.format_exc()[-4000:]
        if job_row.attempts >= job_row.max_attempts:
            job_row.state = Job.State.FAILED
            job_row.finished_at = timezone.now()
            log.error("job %s failed for good:\n%s", job_row, job_row.last_error)
        else:
            job_row.state = Job.State.QUEUED
            job_row.run_after = timezone.now() + timedelta(seconds=30 * 2**job_row.attempts)
            log.warning("job %s failed, retrying later:\n%s", job_row, job_row.last_error)
        job_row.save(update_fields=["attempts", "last_error", "state", "finished_at", "run_after"])
        return False
    job_row.state = Job.State.DONE
    job_row.finished_at = timezone.now()
    job_row.save(update_fields=["attempts", "state", "finished_at"])
    return True


def run_due_periodic(now: Any = None) -> list[str]:
    """Run each periodic job whose interval has passed; returns the names that ran."""
    now = now or timezone.now()
    ran = []
    for entry in _periodic:
        row, created = PeriodicRun.objects.get_or_create(
            name=entry.name, defaults={"last_run_at": now}
        )
        if not created:
            if row.last_run_at > now - entry.every:
                continue
            # Another worker may have taken this slot a moment ago: the conditional update decides.
            if not PeriodicRun.objects.filter(pk=row.pk, last_run_at=row.last_run_at).update(
                last_run_at=now
            ):
                continue
        try:
            entry.func()
            ran.append(entry.name)
        except Exception:
            log.exception("periodic job %s failed; it runs again next interval", entry.name)
    return ran


def run_pending(limit: int | None = None) -> int:
    """Run queued jobs until none is due (or `limit` ran); returns how many ran."""
    count = 0
    while limit is None or count < limit:
        job_row = claim_next()
        if job_row is None:
            break
        run_job(job_row)
        count += 1
    return count
