"""Completed vs not completed: both groups with their composition, the difference with a
bootstrap interval over people, and the log-rank test for time-to-event metrics."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pytest
from statsmodels.duration.survfunc import survdiff

from verity.analytics import impact, metrics
from verity.analytics.definitions import in_force

from .conftest import World

LAUNCH = date(2025, 1, 1)


def test_time_to_first_deal_planted_effect(world: World) -> None:
    """Completers win their first deal after ~30 days, the others after ~60; some of the
    others never win (censored, kept)."""
    rng = np.random.default_rng(5)
    hire = [LAUNCH + timedelta(days=int(d)) for d in rng.integers(0, 200, 40)]
    program = world.program(LAUNCH)
    done = world.reps(20, hire=hire[:20], team="East")
    others = world.reps(20, hire=hire[20:], team="West", job_function="success")
    world.enrol(program, done + others, LAUNCH, [date(2025, 9, 1)] * 20 + [None] * 20)
    first = np.concatenate([rng.normal(30, 5, 20), rng.normal(60, 8, 20)]).round()
    winners = list(range(20)) + list(range(20, 36))  # four of the others never win
    owners = [(done + others)[i] for i in winners]
    closes = [hire[i] + timedelta(days=int(first[i])) for i in winners]
    world.deals(owners, closes)
    # The four never won but own a lost deal (so the engine counts them as reps).
    world.deals(others[16:], [date(2025, 12, 1)] * 4, won=[False] * 4)

    result = impact.completed_vs_not(program.pk, "time_to_first_deal_days", seed=3)
    assert not result.insufficient
    assert result.completed.n == 20 and result.not_completed.n == 20
    assert result.not_completed.extra["censored"] == 4
    assert result.difference.ci_low < -30 < result.difference.ci_high
    assert result.difference.ci_high < 0
    assert result.difference.estimate == pytest.approx(
        result.completed.estimate - result.not_completed.estimate
    )
    # The log-rank test agrees with statsmodels on the same units.
    definition = in_force("time_to_first_deal_days")
    units = metrics.units("time_to_first_deal_days", definition, people=done + others)
    _stat, p = survdiff(
        units["duration"], units["observed"].astype(int), units["owner_id"].isin(done)
    )
    assert result.difference.p_value == pytest.approx(p)
    assert result.difference.p_value < 0.001
    comp = result.completed_composition
    assert comp.people == 20 and comp.teams == {"East": 20}
    assert comp.job_functions == {"sales": 20}
    assert comp.hired_after_launch == 20 - sum(h == LAUNCH for h in hire[:20])
    assert comp.mean_tenure_months == 0.0
    assert result.not_completed_composition.job_functions == {"success": 20}
    assert result.comparison == "enrolled"
    assert "association" in result.as_dict()["caveat"]


def test_win_rate_no_difference_covers_zero(world: World) -> None:
    rng = np.random.default_rng(8)
    program = world.program(LAUNCH)
    done = world.reps(25, hire=date(2022, 1, 1))
    others = world.reps(25, hire=date(2024, 1, 1), team="West")
    world.enrol(program, done + others, LAUNCH, [date(2025, 2, 1)] * 25 + [None] * 25)
    owners = np.repeat(done + others, 30)
    world.deals(owners, [date(2025, 6, 1)] * len(owners), won=rng.random(len(owners)) < 0.35)
    result = impact.completed_vs_not(program.pk, "win_rate", seed=1)
    assert result.difference.ci_low < 0 < result.difference.ci_high
    assert result.completed.method == "wilson"
    assert result.difference.p_value is None
    # Tenure at launch: three years for completers, one for the others.
    assert result.completed_composition.median_tenure_months == pytest.approx(36.0, abs=0.1)
    assert result.not_completed_composition.median_tenure_months == pytest.approx(12.0, abs=0.1)


def test_peers_comparison_uses_job_function_and_hire_period(world: World) -> None:
    program = world.program(LAUNCH)
    done = world.reps(5, hire=[date(2025, 1, d) for d in (1, 5, 10, 15, 20)])
    world.enrol(program, done, LAUNCH, date(2025, 3, 1))
    peers = world.reps(6, hire=date(2025, 1, 12))  # same function, hired in the period
    world.reps(3, hire=date(2025, 1, 12), job_function="support")  # other function
    world.reps(3, hire=date(2023, 1, 1))  # hired outside the period
    facts = impact.program_facts(program.pk)
    completers, others = impact.comparison_group(facts, "peers", impact.frames.people())
    assert completers == set(done) and others == set(peers)
    completers, others = impact.comparison_group(facts, "enrolled", impact.frames.people())
    assert others == set()


def test_insufficient_groups(world: World) -> None:
    program = world.program(LAUNCH)
    done = world.reps(3)
    others = world.reps(10)
    world.enrol(program, done + others, LAUNCH, [date(2025, 2, 1)] * 3 + [None] * 10)
    world.deals(np.repeat(done + others, 5), [date(2025, 6, 1)] * 65)
    result = impact.completed_vs_not(program.pk, "deal_size")
    # 15 deals is enough for an estimate of the group, but 3 reps are too few to compare.
    assert result.completed.n == 15 and not result.completed.insufficient
    assert result.insufficient
    assert result.difference.estimate is None and result.difference.ci_low is None


def test_metric_without_aggregate_resamples_through_point(world: World) -> None:
    """New-product deal size has no per-rep shortcut: each resample calls metrics.point."""
    from verity.analytics.models import Product

    product = Product.objects.create(name="Forecasting", launch_date=date(2024, 6, 1))
    program = world.program(LAUNCH)
    done = world.reps(6)
    others = world.reps(6, team="West")
    world.enrol(program, done + others, LAUNCH, [date(2025, 2, 1)] * 6 + [None] * 6)
    for ids, amount in ((done, 3000.0), (others, 1000.0)):
        owners = np.repeat(ids, 4)
        amounts = amount + np.tile([-200.0, 0.0, 100.0, 300.0], len(ids))
        world.deals(owners, [date(2025, 6, 1)] * len(owners), amount=amounts, product=product)
    result = impact.completed_vs_not(
        program.pk, "new_product", {"measure": "deal_size"}, resamples=50
    )
    assert result.difference.estimate == pytest.approx(2000.0)
    assert result.difference.resamples == 50
    assert result.difference.ci_low == pytest.approx(2000.0)  # every rep has the same mix

    counted = impact.completed_vs_not(program.pk, "new_product", {"measure": "won"})
    assert counted.completed.estimate == 24
    assert counted.difference.estimate is None and counted.difference.method == "count"
