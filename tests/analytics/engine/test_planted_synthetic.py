"""On the synthetic company (verity.analytics.synthetic) the engine recovers what was
planted: time to first deal by onboarding completion, win rate by team, two-year
retention, each inside its 95% interval."""

from __future__ import annotations

import math
from datetime import UTC, datetime, time, timedelta

import pytest

from tests.analytics.engine.conftest import AS_OF, Crm
from verity.accounts.models import SiteRole, User
from verity.analytics import metrics, synthetic
from verity.analytics.definitions import save_version
from verity.learning.models import Program


@pytest.fixture
def company(crm: Crm) -> synthetic.Truth:
    owner = crm.person(hire=AS_OF - timedelta(days=2000), job_function="enablement")
    launched = datetime.combine(AS_OF - timedelta(days=400), time(9), tzinfo=UTC)
    program = Program.objects.create(
        name="New-hire onboarding", owner=owner, status="active", launched_at=launched
    )
    return synthetic.generate(
        seed=7,
        reps=220,
        opportunities=30_000,
        as_of=AS_OF,
        effect=synthetic.Effect(launch_days_ago=400),
        program=program,
        stage_history=False,
    )


def test_planted_effects_recovered(company: synthetic.Truth) -> None:
    truth = company
    # Time to first deal: reps hired after the launch, completed vs not.
    result = metrics.compute(
        "time_to_first_deal_days",
        by="program",
        program_id=truth.program_id,
        people=truth.hired_after_launch,
    )
    rows = {r.key: r for r in result.rows}
    done, not_done = rows["completed"], rows["not_completed"]
    assert done.ci_low <= truth.effect.first_won_median_completed <= done.ci_high, done
    assert not_done.ci_low <= truth.effect.first_won_median_not <= not_done.ci_high, not_done
    assert done.estimate < not_done.estimate

    # Win rate by team. The generator forces one extra win per rep (the first won deal),
    # which lifts the observed rate by well under a point: allow that above the interval.
    for row in metrics.compute("win_rate", by="team").rows:
        if row.key not in truth.win_rate_by_team:
            continue
        planted = truth.win_rate_by_team[row.key]
        assert row.ci_low <= planted <= row.ci_high + 0.01, (row.key, planted, row)

    # Retention: the synthetic hires span two years, so nobody is followed for the full
    # horizon and the engine says so instead of extrapolating.
    retention = metrics.compute("retention_2y", people=truth.rep_ids).rows[0]
    assert retention.estimate is None and retention.extra["beyond_follow_up"] is True
    # At one year: tenure is 30 days plus an exponential draw with P(T >= 2 years) planted,
    # so S(1 year) = exp(-rate x (365.25 - 30)).
    admin = User.objects.create_user("boss@example.com", None, site_role=SiteRole.ADMIN)
    save_version(admin, "retention_2y", {"horizon_years": 1})
    rate = -math.log(truth.retention_2y) / (730.5 - 30)
    planted = math.exp(-rate * (365.25 - 30))
    retention = metrics.compute("retention_2y", people=truth.rep_ids).rows[0]
    assert retention.ci_low <= planted <= retention.ci_high, (planted, retention)
