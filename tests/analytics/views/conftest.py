"""Data for the analytics page tests: a small synthetic company (made by
verity.analytics.synthetic, with an onboarding program and its completions) and a cast of
viewers — a site admin, an enablement lead, a leader (analytics viewers), a manager with a
report, the report, and an outsider."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

import pytest
from django.db.models import Count
from django.test import Client
from django.utils import timezone

from tests.conftest import make_user
from verity.accounts.models import JobFunction, SiteRole, User
from verity.analytics import synthetic
from verity.learning.models import Program


@dataclass
class Viewers:
    admin: User
    enablement: User
    leader: User
    manager: User
    report: User
    outsider: User


@dataclass
class Demo:
    program: Program
    truth: synthetic.Truth
    rep: User  # a synthetic rep with a hire date and deals


def client_for(user: User, language: str = "en") -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE=language)
    client.force_login(user)
    return client


@pytest.fixture
def viewers(db: None) -> Viewers:
    manager = make_user("mgr@example.com", job_function=JobFunction.SALES)
    return Viewers(
        admin=make_user("boss@example.com", site_role=SiteRole.ADMIN),
        enablement=make_user("enable@example.com", job_function=JobFunction.ENABLEMENT),
        leader=make_user("vp@example.com", job_function=JobFunction.LEADERSHIP),
        manager=manager,
        report=make_user("ae@example.com", job_function=JobFunction.SALES, manager=manager),
        outsider=make_user("nobody@example.com", job_function=JobFunction.SUPPORT),
    )


def launched_program(owner: User, days_ago: int = 400) -> Program:
    moment = timezone.make_aware(
        datetime.combine(date.today() - timedelta(days=days_ago), datetime.min.time())
    )
    return Program.objects.create(
        name="New-hire onboarding",
        owner=owner,
        status="active",
        due_days=30,
        audience_functions=["sales", "success", "support"],
        launched_at=moment,
    )


@pytest.fixture
def demo(viewers: Viewers) -> Demo:
    program = launched_program(viewers.enablement)
    truth = synthetic.generate(seed=3, reps=40, opportunities=4000, program=program)
    # The rep with the most deals: a scorecard with something on it.
    rep = (
        User.objects.filter(pk__in=truth.rep_ids, hire_date__isnull=False)
        .annotate(deals=Count("opportunities"))
        .order_by("-deals", "pk")
        .first()
    )
    assert rep is not None
    return Demo(program=program, truth=truth, rep=rep)


@pytest.fixture(autouse=True)
def _fresh_frames() -> None:
    """Each test's data is rolled back, so the data version counter starts again from the
    same number: a frame cached by an earlier test would look current. Start empty."""
    from verity.analytics import frames

    with frames._cache_lock:
        frames._cache.clear()
