"""The demo's synthetic CRM and HR data: about sixty reps and 20,000 deals, labelled
synthetic, with the planted onboarding effect in the data, loaded once."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from io import StringIO

import numpy as np
import pytest
from django.core.management import call_command
from django.utils import timezone

from verity.accounts.models import User
from verity.analytics import frames, synthetic
from verity.analytics.models import ImportRun, Opportunity, Quota, StageEntry
from verity.core.demo import analytics as demo_analytics
from verity.learning.models import Enrollment, Program
from verity.search.backends import get_backend

FUNCTIONS = ("sales", "success", "support")


@pytest.fixture(scope="module")
def demo(django_db_setup, django_db_blocker) -> Iterator[None]:
    with django_db_blocker.unblock():
        call_command("demo", "load", "--once", stdout=StringIO())
        yield
        call_command("flush", "--noinput", verbosity=0)
        get_backend().clear()


def reps() -> list[User]:
    return list(User.objects.exclude(team="").filter(job_function__in=FUNCTIONS))


def test_about_sixty_reps_and_twenty_thousand_deals(demo, db):
    people = reps()
    assert 55 <= len(people) <= 70
    teams = Counter(p.team for p in people)
    assert set(teams) == {"Sales East", "Sales West", "Customer Success", "Support"}
    assert min(teams.values()) >= 6
    assert Opportunity.objects.count() == demo_analytics.OPPORTUNITIES
    assert StageEntry.objects.count() > 3 * demo_analytics.OPPORTUNITIES
    outcomes = Counter(Opportunity.objects.values_list("outcome", flat=True))
    assert outcomes["won"] > 3000 and outcomes["lost"] > 8000 and outcomes["open"] > 500
    # Two years of it, hires spread over them and leavers of both kinds.
    first = Opportunity.objects.order_by("created_date").first().created_date
    assert 700 <= (timezone.localdate() - first).days <= 731
    leavers = [p for p in people if p.termination_date]
    assert len(leavers) >= 3 and all(not p.is_active for p in leavers)
    assert {p.termination_type for p in leavers} <= {"voluntary", "involuntary"}
    assert Quota.objects.values("owner").distinct().count() == len(people)


def test_clearly_labelled_synthetic(demo, db):
    assert synthetic.is_demo_data()
    runs = ImportRun.objects.filter(source="demo")
    assert set(runs.values_list("file_name", flat=True)) == {"synthetic demo data"}
    assert set(runs.values_list("kind", flat=True)) == {
        "people",
        "opportunities",
        "stage-history",
        "quotas",
    }
    assert not Opportunity.objects.exclude(account__endswith="(synthetic)").exists()
    generated = User.objects.filter(email__endswith="@synthetic.northwind.example")
    assert generated.count() == demo_analytics.SYNTHETIC_REPS
    assert not any(u.has_usable_password() for u in generated)
    assert "synthetic" in str(synthetic.SYNTHETIC_NOTICE)


def test_the_demo_people_have_their_own_numbers(demo, db):
    """The logins a visitor tries have a team, deals and quotas: scorecards are not empty."""
    for handle, team in [
        ("ava.thompson", "Sales East"),
        ("aleksey.smirnov", "Sales West"),
        ("chloe.nguyen", "Customer Success"),
        ("ben.walker", "Support"),
        ("jordan.price", "Sales East"),
    ]:
        person = User.objects.get(email=f"{handle}@northwind.example")
        assert person.team == team
        assert person.opportunities.filter(outcome="won").exists(), handle
        assert person.quotas.exists(), handle
    # The generated reps report to the demo's managers (their scorecards are Jordan's to see).
    jordan = User.objects.get(email="jordan.price@northwind.example")
    assert (
        User.objects.filter(manager=jordan, email__endswith="@synthetic.northwind.example").count()
        >= 5
    )


def test_the_planted_onboarding_effect_is_in_the_data(demo, db):
    """Reps hired after the onboarding launch who completed it reach their first won deal
    sooner: the raw medians differ by the planted margin (the estimates, with intervals,
    are the metric engine's tests)."""
    program = Program.objects.get(name=demo_analytics.ONBOARDING)
    launch = np.datetime64(program.launched_at.date(), "s")
    completed = set(frames.completions(program.pk)["user_id"])
    opportunities = frames.opportunities()
    first_won = (
        opportunities[opportunities["outcome"] == "won"].groupby("owner_id")["close_date"].min()
    )
    days: dict[bool, list[int]] = {True: [], False: []}
    for person in reps():
        hired = np.datetime64(person.hire_date, "s")
        if hired >= launch and person.pk in first_won.index:
            days[person.pk in completed].append(int((first_won[person.pk] - hired).days))
    assert len(days[True]) >= 8 and len(days[False]) >= 5
    assert np.median(days[False]) - np.median(days[True]) >= 20
    assert 60 <= np.median(days[True]) <= 90


def test_generated_reps_are_enrolled_like_everyone_else(demo, db):
    """Every generated rep still employed has an onboarding enrolment (the worker would
    otherwise enrol them on its first run) and reads their team's cards."""
    program = Program.objects.get(name=demo_analytics.ONBOARDING)
    generated = User.objects.filter(email__endswith="@synthetic.northwind.example", is_active=True)
    enrolled = set(
        Enrollment.objects.filter(program=program, user__in=generated).values_list(
            "user_id", flat=True
        )
    )
    assert enrolled == set(generated.values_list("pk", flat=True))
    for person in generated:
        groups = set(person.member_groups.values_list("name", flat=True))
        assert demo_analytics.FUNCTION_GROUPS[person.job_function] in groups


def test_loading_again_duplicates_nothing(demo, db):
    def counts() -> tuple[int, ...]:
        return (
            User.objects.count(),
            Opportunity.objects.count(),
            StageEntry.objects.count(),
            Quota.objects.count(),
            ImportRun.objects.count(),
            Enrollment.objects.count(),
        )

    before = counts()
    version = frames.data_version()
    out = StringIO()
    call_command("demo", "load", "--once", stdout=out)
    assert "already loaded" in out.getvalue()
    assert demo_analytics.load_analytics().opportunities == 0
    assert counts() == before
    assert frames.data_version() == version
