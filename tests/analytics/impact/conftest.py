"""A small world for the impact tests: reps, deals, one program with enrolments and
completions, written in bulk with numpy-made values and a fixed as-of date."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

import numpy as np
import pytest

from verity.accounts.models import User
from verity.analytics import frames
from verity.analytics.models import Opportunity
from verity.learning.models import Enrollment, EnrollmentState, Program

AS_OF = date(2026, 7, 1)


def moment(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 12, tzinfo=UTC)


class World:
    def __init__(self) -> None:
        self._people = itertools.count(1)
        self._deals = itertools.count(1)
        self.owner = User.objects.create_user("enablement@example.com", None, name="Owner")

    def reps(
        self,
        n: int,
        *,
        hire: date | Sequence[date] = date(2023, 1, 1),
        team: str = "East",
        job_function: str = "sales",
        termination: Sequence[date | None] | None = None,
    ) -> list[int]:
        hires = [hire] * n if isinstance(hire, date) else list(hire)
        ends = list(termination) if termination is not None else [None] * n
        users = []
        for i in range(n):
            k = next(self._people)
            users.append(
                User(
                    email=f"rep{k}@example.com",
                    name=f"Rep {k:04d}",
                    password="!",
                    hire_date=hires[i],
                    termination_date=ends[i],
                    team=team,
                    job_function=job_function,
                )
            )
        made = User.objects.bulk_create(users)
        return [u.pk for u in made]

    def deals(
        self,
        owner: np.ndarray | Sequence[int],
        close: np.ndarray | Sequence[date],
        *,
        won: np.ndarray | Sequence[bool] | None = None,
        amount: np.ndarray | Sequence[float] | None = None,
        cycle_days: np.ndarray | Sequence[int] | None = None,
        open_: np.ndarray | Sequence[bool] | None = None,
        product: Any = None,
    ) -> None:
        n = len(owner)
        won_ = np.ones(n, bool) if won is None else np.asarray(won, bool)
        amounts = np.full(n, 1000.0) if amount is None else np.asarray(amount, float)
        cycles = np.full(n, 30) if cycle_days is None else np.asarray(cycle_days, int)
        is_open = np.zeros(n, bool) if open_ is None else np.asarray(open_, bool)
        rows = []
        for i in range(n):
            closed = _as_date(close[i])
            outcome = "open" if is_open[i] else ("won" if won_[i] else "lost")
            rows.append(
                Opportunity(
                    external_id=f"D{next(self._deals)}",
                    owner_id=int(owner[i]),
                    amount=round(float(amounts[i]), 2),
                    stage=outcome,
                    outcome=outcome,
                    created_date=closed - timedelta(days=int(cycles[i])),
                    close_date=None if is_open[i] else closed,
                    product=product,
                )
            )
        Opportunity.objects.bulk_create(rows, batch_size=5000)
        frames.bump_data_version()

    def program(self, launched: date | None = date(2025, 7, 1), **extra: Any) -> Program:
        return Program.objects.create(
            name="New onboarding",
            owner=self.owner,
            status="active",
            launched_at=moment(launched) if launched else None,
            **extra,
        )

    def enrol(
        self,
        program: Program,
        users: Sequence[int],
        enrolled: date | Sequence[date],
        completed: date | Sequence[date | None] | None = None,
    ) -> None:
        starts = [enrolled] * len(users) if isinstance(enrolled, date) else list(enrolled)
        if completed is None or isinstance(completed, date):
            ends: list[date | None] = [completed] * len(users)
        else:
            ends = list(completed)
        Enrollment.objects.bulk_create(
            [
                Enrollment(
                    program=program,
                    user_id=u,
                    enrolled_at=moment(s),
                    completed_at=moment(e) if e else None,
                    state=EnrollmentState.COMPLETED if e else EnrollmentState.IN_PROGRESS,
                )
                for u, s, e in zip(users, starts, ends, strict=True)
            ]
        )


def _as_date(value: Any) -> date:
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(np.datetime64(value, "D")))


def spread(start: date, end: date, n: int, rng: np.random.Generator) -> np.ndarray:
    """n dates uniformly between start (inclusive) and end (exclusive)."""
    span = (end - start).days
    offsets = rng.integers(0, span, n)
    return np.datetime64(start, "D") + offsets.astype("timedelta64[D]")


@pytest.fixture(autouse=True)
def _fixed_as_of(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(frames, "as_of", lambda: np.datetime64(AS_OF, "s"))
    frames._cache.clear()


@pytest.fixture
def world(db: None) -> World:
    return World()


def set_params(metric: str, **params: Any) -> None:
    """Store a new definition version (what an admin's edit does)."""
    from verity.analytics.definitions import in_force
    from verity.analytics.models import MetricDefinition

    current = in_force(metric)
    MetricDefinition.objects.create(
        metric=metric, version=current.version + 1, params={**current.params, **params}
    )
