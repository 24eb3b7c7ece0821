"""The synthetic data generator: same seed, same data; the Truth is what was written; the
planted values are in the data (the product's estimators are tested against them in the
metric and impact tests)."""

from __future__ import annotations

import csv
from collections import defaultdict
from datetime import date, timedelta

import numpy as np
import pandas as pd
import pytest
from django.utils import timezone
from statsmodels.duration.survfunc import SurvfuncRight

from verity.accounts.models import User
from verity.analytics import frames, synthetic
from verity.analytics.models import ImportRun, Opportunity, Product, Quota, StageEntry
from verity.learning.models import Enrollment, Program

AS_OF = date(2026, 6, 30)


def test_same_seed_same_plan_other_seed_other_plan():
    a = synthetic.plan(seed=5, reps=40, opportunities=3000, as_of=AS_OF)
    b = synthetic.plan(seed=5, reps=40, opportunities=3000, as_of=AS_OF)
    c = synthetic.plan(seed=6, reps=40, opportunities=3000, as_of=AS_OF)
    pd.testing.assert_frame_equal(a.deals, b.deals)
    pd.testing.assert_frame_equal(a.stages, b.stages)
    pd.testing.assert_frame_equal(a.quotas, b.quotas)
    assert [vars(p) for p in a.people] == [vars(p) for p in b.people]
    assert len(a.deals) == 3000
    assert not a.deals["amount"].equals(c.deals["amount"])
    assert [p.hire for p in a.people] != [p.hire for p in c.people]


def test_shapes_are_plausible():
    p = synthetic.plan(seed=11, reps=200, opportunities=30_000, as_of=AS_OF)
    deals = p.deals
    share = deals["outcome"].value_counts(normalize=True)
    assert 0.15 < share["won"] < 0.4 and 0.5 < share["lost"] < 0.8 and 0.02 < share["open"] < 0.2
    # Dates: everything inside the two years, closes not before creation, open deals expected
    # to close after as_of, closed ones closed by then.
    assert deals["created"].min() >= -730 and deals["created"].max() <= 0
    assert (deals["close"] >= deals["created"]).all()
    assert (deals.loc[deals["outcome"] == "open", "close"] > 0).all()
    assert (deals.loc[deals["outcome"] != "open", "close"] <= 0).all()
    # Log-normal amounts: right-skewed, positive.
    assert (deals["amount"] > 0).all() and deals["amount"].mean() > deals["amount"].median()
    # The new product only after its launch.
    new = next(i for i, s in enumerate(synthetic.PRODUCTS) if s.launch_days_ago)
    launch = -synthetic.PRODUCTS[new].launch_days_ago
    assert deals.loc[deals["product"] == new, "created"].min() >= launch
    assert (deals["product"] == new).sum() > 100
    # Leavers of both kinds; every rep has a manager; hires spread over the two years.
    reps = [x for x in p.people if not x.is_manager]
    types = {x.term_type for x in reps if x.term is not None}
    assert types == {"voluntary", "involuntary"}
    assert all(x.manager is not None for x in reps)
    hires = np.array([x.hire for x in reps])
    assert (hires < -365).sum() > 30 and (hires > -365).sum() > 30
    # Stage history ends in the deal's closing stage.
    last = p.stages.groupby("deal")["stage"].last()
    closed = deals.index[deals["outcome"] != "open"]
    expected = np.where(deals.loc[closed, "outcome"] == "won", "Closed Won", "Closed Lost")
    assert (last.loc[closed].to_numpy() == expected).all()


def test_planted_values_are_in_the_data():
    """Raw checks on a large plan: the first-won medians, win rates and 2-year retention
    are what was planted (within sampling error)."""
    effect = synthetic.Effect()
    p = synthetic.plan(seed=21, reps=1500, opportunities=150_000, as_of=AS_OF, effect=effect)
    truth = synthetic.truth_of(p)
    # Truth of a plan that was not written uses index-less ids: rebuild by person.
    launch = -effect.launch_days_ago
    reps = [x for x in p.people if not x.is_manager]
    for completed, median in (
        (True, effect.first_won_median_completed),
        (False, effect.first_won_median_not),
    ):
        group = [x for x in reps if x.hire >= launch and x.completed == completed]
        # Kaplan-Meier with the reps who have no won deal yet censored at as_of / leaving.
        durations = [
            (x.first_won if x.first_won is not None else (x.term or 0)) - x.hire for x in group
        ]
        events = [x.first_won is not None for x in group]
        km = SurvfuncRight(np.array(durations, float), np.array(events, int))
        assert abs(km.quantile(0.5) - median) < 0.12 * median, (completed, km.quantile(0.5))
    # Win rate by team (closed deals), close to the planted probabilities.
    for team, rate in truth.win_rate_observed.items():
        assert abs(rate - effect.win_rate[team]) < 0.02, team
    # Two-year retention by Kaplan-Meier, the still-employed censored.
    tenure = np.array([(x.term if x.term is not None else 0) - x.hire for x in reps], float)
    left = np.array([x.term is not None for x in reps], int)
    km = SurvfuncRight(tenure, left)
    at_two_years = km.surv_prob[np.searchsorted(km.surv_times, 730, side="right") - 1]
    assert abs(at_two_years - effect.retention_2y) < 0.06


@pytest.fixture
def onboarding(db):
    owner = User.objects.create_user("owner@example.com", "x", job_function="enablement")
    return Program.objects.create(
        name="Onboarding",
        owner=owner,
        status="active",
        due_days=30,
        audience_functions=["sales", "success", "support"],
        launched_at=timezone.make_aware(
            timezone.datetime(2025, 5, 26, 9, 0)  # 400 days before AS_OF
        ),
    )


def test_truth_matches_what_was_written(onboarding):
    before = frames.data_version()
    truth = synthetic.generate(seed=7, reps=80, opportunities=8000, as_of=AS_OF, program=onboarding)
    assert frames.data_version() > before
    assert Opportunity.objects.count() == truth.opportunities == 8000
    assert StageEntry.objects.count() == truth.stage_entries > 8000
    assert Quota.objects.count() == truth.quotas > 0
    assert truth.launch_date == date(2025, 5, 26)
    assert ImportRun.objects.filter(file_name=synthetic.DEMO_FILE_NAME).count() == 4
    assert not synthetic.is_demo_data()  # source "cli": only the demo's runs say "demo"

    people = {u.pk: u for u in User.objects.filter(pk__in=truth.rep_ids)}
    assert len(people) == 80
    for pk in truth.rep_ids:
        user = people[pk]
        assert user.team == truth.team_of[pk] and user.hire_date == truth.hire_date[pk]
        assert user.termination_date == truth.termination_date[pk]
        assert user.is_active == (user.termination_date is None)
        assert user.manager_id in truth.manager_ids
        assert not user.has_usable_password()
    # First won deal per rep, as the Truth says.
    first: dict[int, date] = {}
    for owner, close in Opportunity.objects.filter(outcome="won").values_list(
        "owner_id", "close_date"
    ):
        first[owner] = min(close, first.get(owner, close))
    assert {pk: first.get(pk) for pk in truth.rep_ids} == truth.first_won
    assert sum(v is None for v in truth.first_won.values()) >= 3  # censored reps exist
    # Completions written as enrolments.
    completed = set(
        Enrollment.objects.filter(program=onboarding, state="completed").values_list(
            "user_id", flat=True
        )
    )
    assert completed == truth.completed_ids and completed
    # The completions frame reads them all back, whatever text SQLite hands over for
    # MIN(completed_at) (with or without microseconds: one of each here).
    first = Enrollment.objects.filter(program=onboarding, state="completed").order_by("pk")[0]
    Enrollment.objects.filter(pk=first.pk).update(
        completed_at=first.completed_at.replace(microsecond=0)
    )
    Enrollment.objects.filter(pk=first.pk + 1, completed_at__isnull=False).update(
        completed_at=first.completed_at.replace(microsecond=123456)
    )
    done = frames.completions(onboarding.pk)
    assert done["completed_at"].notna().all()
    assert set(done["user_id"]) == truth.completed_ids
    for e in Enrollment.objects.filter(program=onboarding):
        assert e.enrolled_at >= onboarding.launched_at
        assert e.due_at == e.released_at + timedelta(days=30)
    # Win rate by team from the database.
    counts: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for owner, outcome in Opportunity.objects.exclude(outcome="open").values_list(
        "owner_id", "outcome"
    ):
        counts[truth.team_of[owner]][0] += outcome == "won"
        counts[truth.team_of[owner]][1] += 1
    observed = {team: won / n for team, (won, n) in counts.items()}
    assert observed == pytest.approx(truth.win_rate_observed)
    # Stage names as Salesforce has them, consistent with the outcome.
    assert not Opportunity.objects.filter(outcome="won").exclude(stage="Closed Won").exists()
    assert not Opportunity.objects.filter(outcome="lost").exclude(stage="Closed Lost").exists()
    assert set(Opportunity.objects.filter(outcome="open").values_list("stage", flat=True)) <= set(
        synthetic.OPEN_STAGES
    )
    assert Product.objects.get(name=truth.new_product).launch_date == truth.new_product_launch
    # The frames read it back (the engine's only door).
    assert len(frames.opportunities()) == 8000


def test_two_generations_in_one_database_do_not_collide(db):
    a = synthetic.generate(seed=1, reps=10, opportunities=500, as_of=AS_OF, id_prefix="A")
    b = synthetic.generate(seed=2, reps=10, opportunities=500, as_of=AS_OF, id_prefix="B")
    assert Opportunity.objects.count() == 1000
    assert not set(a.rep_ids) & set(b.rep_ids)


def test_write_csv_in_the_import_layout(tmp_path):
    paths = synthetic.write_csv(tmp_path, seed=3, reps=30, opportunities=2000, as_of=AS_OF)
    expected = {
        "people": [
            "email",
            "name",
            "job_function",
            "team",
            "manager_email",
            "hire_date",
            "termination_date",
            "termination_type",
        ],
        "opportunities": [
            "id",
            "owner",
            "account",
            "product",
            "amount",
            "stage",
            "created_date",
            "close_date",
        ],
        "stage-history": ["opportunity_id", "stage", "entered_at"],
        "quotas": ["owner", "period_start", "amount"],
    }
    rows = {}
    for kind, columns in expected.items():
        with paths[kind].open(encoding="utf-8") as handle:
            reader = csv.DictReader(handle)
            assert reader.fieldnames == columns, kind
            rows[kind] = list(reader)
    assert len(rows["opportunities"]) == 2000
    emails = [r["email"] for r in rows["people"]]
    # Managers come before their reports, so a one-pass import finds them.
    for n, row in enumerate(rows["people"]):
        if row["manager_email"]:
            assert row["manager_email"] in emails[:n]
    assert {r["owner"] for r in rows["opportunities"]} <= set(emails)
    assert {r["owner"] for r in rows["quotas"]} <= set(emails)
    ids = {r["id"] for r in rows["opportunities"]}
    assert {r["opportunity_id"] for r in rows["stage-history"]} <= ids
    assert all(r["account"].endswith("(synthetic)") for r in rows["opportunities"])
    assert all(r["period_start"].endswith("-01") for r in rows["quotas"])
    # Same data as the plan: the same seed gives the same files.
    again = synthetic.write_csv(
        tmp_path / "again", seed=3, reps=30, opportunities=2000, as_of=AS_OF
    )
    assert again["opportunities"].read_bytes() == paths["opportunities"].read_bytes()


def test_write_csv_without_stage_history(tmp_path):
    paths = synthetic.write_csv(
        tmp_path, seed=4, reps=10, opportunities=300, as_of=AS_OF, stage_history=False
    )
    assert paths["stage-history"].read_text(encoding="utf-8").splitlines() == [
        "opportunity_id,stage,entered_at"
    ]
    with paths["opportunities"].open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    # Open deals still name the stage they are in.
    assert len(rows) == 300
    assert {r["stage"] for r in rows} - {"Closed Won", "Closed Lost"} <= set(synthetic.OPEN_STAGES)
