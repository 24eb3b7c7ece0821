"""The database job queue behind `verity worker` (verity/core/jobs.py)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from unittest import mock

import pytest
from django.core.management import call_command
from django.utils import timezone

from verity.core import jobs
from verity.core.models import Job, PeriodicRun

pytestmark = pytest.mark.django_db


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """Register an `ops.record` job (and an always failing `ops.fail`) for one test."""
    seen: list[dict[str, Any]] = []

    def record(**payload: Any) -> None:
        seen.append(payload)

    def fail(**payload: Any) -> None:
        seen.append(payload)
        raise RuntimeError("upstream mail server down")

    monkeypatch.setitem(jobs._registry, "ops.record", record)
    monkeypatch.setitem(jobs._registry, "ops.fail", fail)
    return seen


def make_job(name: str, **fields: Any) -> Job:
    fields.setdefault("run_after", timezone.now() - timedelta(seconds=1))
    return Job.objects.create(name=name, **fields)


def test_enqueue_creates_the_job_only_when_the_transaction_commits(
    calls, settings, django_capture_on_commit_callbacks
) -> None:
    settings.VERITY_RUN_JOBS_INLINE = False
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        jobs.enqueue("ops.record", card=7)
        assert not Job.objects.exists()
    for callback in callbacks:
        callback()
    job = Job.objects.get()
    assert (job.name, job.payload, job.state) == ("ops.record", {"card": 7}, Job.State.QUEUED)
    assert calls == []


def test_enqueue_refuses_an_unknown_job_name() -> None:
    with pytest.raises(KeyError):
        jobs.enqueue("ops.no-such-job")


def test_worker_runs_due_jobs_and_leaves_future_ones(calls) -> None:
    due = make_job("ops.record", payload={"n": 1})
    later = make_job("ops.record", payload={"n": 2}, run_after=timezone.now() + timedelta(hours=1))
    # The worker drops stale connections between rounds; inside the test's transaction that
    # would close the connection the test itself runs on (PostgreSQL), so it is stubbed here.
    with mock.patch("verity.core.management.commands.worker.close_old_connections"):
        call_command("worker", "--once")
    due.refresh_from_db()
    later.refresh_from_db()
    assert calls == [{"n": 1}]
    assert due.state == Job.State.DONE and due.attempts == 1 and due.finished_at is not None
    assert later.state == Job.State.QUEUED and later.attempts == 0


def test_failing_job_is_retried_with_exponential_backoff(calls) -> None:
    job = make_job("ops.fail", payload={"n": 1}, max_attempts=3)
    before = timezone.now()
    assert jobs.run_pending() == 1
    job.refresh_from_db()
    assert job.state == Job.State.QUEUED and job.attempts == 1
    assert "upstream mail server down" in job.last_error
    first_delay = (job.run_after - before).total_seconds()
    assert 55 <= first_delay <= 65  # 30 s x 2**1

    # Not due yet: nothing runs.
    assert jobs.run_pending() == 0

    Job.objects.filter(pk=job.pk).update(run_after=timezone.now() - timedelta(seconds=1))
    before = timezone.now()
    jobs.run_pending()
    job.refresh_from_db()
    assert job.state == Job.State.QUEUED and job.attempts == 2
    second_delay = (job.run_after - before).total_seconds()
    assert 115 <= second_delay <= 125  # doubles
    assert len(calls) == 2


def test_failing_job_gives_up_after_max_attempts(calls) -> None:
    job = make_job("ops.fail", max_attempts=2)
    for _ in range(5):
        Job.objects.filter(pk=job.pk, state=Job.State.QUEUED).update(
            run_after=timezone.now() - timedelta(seconds=1)
        )
        jobs.run_pending()
    job.refresh_from_db()
    assert job.state == Job.State.FAILED
    assert job.attempts == 2
    assert job.finished_at is not None
    assert len(calls) == 2  # never ran again after giving up


def test_unregistered_job_fails_instead_of_crashing_the_worker(calls) -> None:
    job = make_job("ops.vanished", max_attempts=1)
    assert jobs.run_pending() == 1
    job.refresh_from_db()
    assert job.state == Job.State.FAILED
    assert "ops.vanished" in job.last_error


def test_job_claimed_by_a_crashed_worker_is_reclaimed_after_the_timeout(calls) -> None:
    stale = make_job(
        "ops.record",
        payload={"n": "stale"},
        state=Job.State.RUNNING,
        claimed_at=timezone.now() - jobs.CLAIM_TIMEOUT - timedelta(minutes=1),
        claimed_by="dead-host:1",
    )
    fresh = make_job(
        "ops.record",
        payload={"n": "fresh"},
        state=Job.State.RUNNING,
        claimed_at=timezone.now() - timedelta(minutes=1),
        claimed_by="live-host:2",
    )
    assert jobs.run_pending() == 1
    stale.refresh_from_db()
    fresh.refresh_from_db()
    assert calls == [{"n": "stale"}]
    assert stale.state == Job.State.DONE and stale.claimed_by == jobs.worker_id()
    assert fresh.state == Job.State.RUNNING and fresh.claimed_by == "live-host:2"


def test_a_claimed_job_cannot_be_claimed_twice(calls) -> None:
    make_job("ops.record")
    first = jobs.claim_next()
    assert first is not None and first.state == Job.State.RUNNING
    assert jobs.claim_next() is None


def test_periodic_job_runs_once_per_interval(monkeypatch: pytest.MonkeyPatch) -> None:
    runs: list[str] = []
    monkeypatch.setattr(
        jobs,
        "_periodic",
        [jobs.Periodic("ops.hourly", timedelta(hours=1), lambda: runs.append("tick"))],
    )
    start = timezone.now()
    # A fresh install runs the job at once, then once per interval.
    assert jobs.run_due_periodic(now=start) == ["ops.hourly"]
    assert jobs.run_due_periodic(now=start + timedelta(minutes=59)) == []
    assert jobs.run_due_periodic(now=start + timedelta(hours=1)) == ["ops.hourly"]
    assert jobs.run_due_periodic(now=start + timedelta(hours=1, minutes=30)) == []
    assert jobs.run_due_periodic(now=start + timedelta(hours=2)) == ["ops.hourly"]
    assert runs == ["tick", "tick", "tick"]
    assert PeriodicRun.objects.get(name="ops.hourly").last_run_at == start + timedelta(hours=2)


def test_periodic_slot_taken_by_another_worker_is_not_run_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    runs: list[str] = []
    monkeypatch.setattr(
        jobs,
        "_periodic",
        [jobs.Periodic("ops.daily", timedelta(days=1), lambda: runs.append("tick"))],
    )
    start = timezone.now() - timedelta(days=2)
    PeriodicRun.objects.create(name="ops.daily", last_run_at=start)
    # Another worker took today's slot a moment ago.
    PeriodicRun.objects.filter(name="ops.daily").update(last_run_at=timezone.now())
    assert jobs.run_due_periodic() == []
    assert runs == []


def test_failing_periodic_job_does_not_stop_the_others(monkeypatch: pytest.MonkeyPatch) -> None:
    runs: list[str] = []

    def broken() -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(
        jobs,
        "_periodic",
        [
            jobs.Periodic("ops.broken", timedelta(minutes=5), broken),
            jobs.Periodic("ops.fine", timedelta(minutes=5), lambda: runs.append("fine")),
        ],
    )
    earlier = timezone.now() - timedelta(minutes=10)
    PeriodicRun.objects.create(name="ops.broken", last_run_at=earlier)
    PeriodicRun.objects.create(name="ops.fine", last_run_at=earlier)
    assert jobs.run_due_periodic() == ["ops.fine"]
    assert runs == ["fine"]
