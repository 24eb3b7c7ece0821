"""A tiny CRM/HR factory for the engine tests: people, deals, quotas and stage history
written straight to the tables (bulk), with the data version bumped, and a fixed as-of
date so censoring is reproducible."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta
from typing import Any

import numpy as np
import pytest

from verity.accounts.models import User
from verity.analytics import frames
from verity.analytics.models import Opportunity, Product, Quota, StageEntry

AS_OF = date(2026, 7, 1)


class Crm:
    def __init__(self) -> None:
        self._ids = itertools.count(1)
        self._people = itertools.count(1)

    def person(
        self,
        *,
        hire: date | None,
        team: str = "",
        job_function: str = "sales",
        termination: date | None = None,
        name: str | None = None,
        **extra: Any,
    ) -> User:
        n = next(self._people)
        return User.objects.create_user(
            f"rep{n}@example.com",
            None,
            name=name or f"Rep {n:04d}",
            hire_date=hire,
            team=team,
            job_function=job_function,
            termination_date=termination,
            **extra,
        )

    def people(self, rows: list[dict[str, Any]]) -> list[User]:
        """Many people at once: rows of hire, team, job_function, termination."""
        users = []
        for row in rows:
            n = next(self._people)
            user = User(
                email=f"rep{n}@example.com",
                name=f"Rep {n:04d}",
                hire_date=row.get("hire"),
                team=row.get("team", ""),
                job_function=row.get("job_function", "sales"),
                termination_date=row.get("termination"),
            )
            user.set_unusable_password()
            users.append(user)
        return User.objects.bulk_create(users)

    def product(self, name: str, launch: date | None = None) -> Product:
        return Product.objects.create(name=name, launch_date=launch)

    def deals(self, rows: list[dict[str, Any]]) -> list[Opportunity]:
        """rows: owner, outcome, amount, created, close (None for open), product."""
        objs = [
            Opportunity(
                external_id=f"D{next(self._ids)}",
                owner=row["owner"],
                amount=row.get("amount", 1000),
                stage=row.get("stage", row.get("outcome", "open")),
                outcome=row.get("outcome", "open"),
                created_date=row["created"],
                close_date=row.get("close"),
                product=row.get("product"),
            )
            for row in rows
        ]
        made = Opportunity.objects.bulk_create(objs, batch_size=2000)
        frames.bump_data_version()
        return made

    def quotas(self, owner: User, start: date, months: int, amount: float) -> None:
        rows = []
        year, month = start.year, start.month
        for _ in range(months):
            rows.append(Quota(owner=owner, period_start=date(year, month, 1), amount=amount))
            month += 1
            if month > 12:
                year, month = year + 1, 1
        Quota.objects.bulk_create(rows)
        frames.bump_data_version()

    def stages(self, opportunity: Opportunity, entries: list[tuple[str, date]]) -> None:
        StageEntry.objects.bulk_create(
            [
                StageEntry(
                    opportunity=opportunity,
                    stage=stage,
                    entered_at=datetime(d.year, d.month, d.day, tzinfo=UTC),
                )
                for stage, d in entries
            ]
        )
        frames.bump_data_version()


@pytest.fixture(autouse=True)
def _fixed_as_of(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(frames, "as_of", lambda: np.datetime64(AS_OF, "s"))
    # Each test's transaction is rolled back, so the data version counter repeats between
    # tests: forget frames cached by an earlier test.
    frames._cache.clear()


@pytest.fixture
def crm(db: None) -> Crm:
    return Crm()


def days(n: float) -> timedelta:
    return timedelta(days=float(n))
