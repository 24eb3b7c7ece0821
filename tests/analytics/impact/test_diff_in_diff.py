"""Difference-in-differences on deal metrics: planted effects are recovered, a null effect
is not invented, and the interval resamples reps, not deals."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest

from verity.analytics import impact

from .conftest import World, set_params, spread

LAUNCH = date(2025, 7, 1)
PRE = (date(2025, 1, 2), LAUNCH)
POST = (LAUNCH, date(2025, 12, 30))


def planted(world: World, effect: float, *, seed: int = 7, reps: int = 30, deals: int = 40):
    """Completers and others, each rep with its own base win rate; everyone gains 5 pp after
    the launch (a market trend DiD must remove); completers gain `effect` more."""
    rng = np.random.default_rng(seed)
    program = world.program(LAUNCH)
    done = world.reps(reps, team="East")
    others = world.reps(reps, team="West")
    world.enrol(program, done + others, LAUNCH, [LAUNCH] * reps + [None] * reps)
    owners, closes, wins = [], [], []
    truth = {}
    for completed, ids in ((True, done), (False, others)):
        for rep in ids:
            base = rng.uniform(0.2, 0.5)
            for period, (start, end) in enumerate((PRE, POST)):
                p = base + 0.05 * period + (effect if completed and period else 0.0)
                won = rng.random(deals) < p
                owners += [rep] * deals
                closes += list(spread(start, end, deals, rng))
                wins += list(won)
                truth[(rep, period)] = won
    world.deals(owners, closes, won=wins)
    return program, done, others, truth


def pooled(truth: dict, ids: list[int], period: int) -> float:
    won = np.concatenate([truth[(r, period)] for r in ids])
    return float(won.mean())


def test_planted_effect_is_recovered(world: World) -> None:
    program, done, others, truth = planted(world, 0.10)
    result = impact.diff_in_diff(program.pk, "win_rate", resamples=1000, seed=1)
    assert result.applicable and not result.insufficient
    assert result.completed.reps == 30 and result.not_completed.reps == 30
    expected = (pooled(truth, done, 1) - pooled(truth, done, 0)) - (
        pooled(truth, others, 1) - pooled(truth, others, 0)
    )
    assert result.did.estimate == pytest.approx(expected)
    assert result.did.ci_low < 0.10 < result.did.ci_high
    assert result.did.ci_low > 0
    assert result.did.method == "cluster_bootstrap_reps"
    assert result.completed.pre.n == 30 * 40 and result.completed.post.n == 30 * 40
    assert "association" in result.caveat
    data = result.as_dict()
    assert data["did"]["estimate"] == result.did.estimate
    assert data["groups"]["completed"]["reps"] == 30
    assert {row["group"] for row in result.csv_rows()} == {
        "completed",
        "not_completed",
        "difference_in_differences",
    }


def test_no_effect_interval_covers_zero(world: World) -> None:
    program, *_ = planted(world, 0.0, seed=11)
    result = impact.diff_in_diff(program.pk, "win_rate", resamples=1000, seed=2)
    assert result.did.ci_low < 0 < result.did.ci_high
    # The common +5 pp trend shows in both groups' before/after but not in the DiD.
    assert result.not_completed.change == pytest.approx(0.05, abs=0.04)


def test_bootstrap_resamples_reps_not_deals(world: World) -> None:
    """One completer with 3,000 deals doubles their win rate; nobody else changes. Pooled,
    the completers' change is large; resampling deals would call it certain, but it rests
    on one rep, and the interval over reps must say so."""
    rng = np.random.default_rng(3)
    program = world.program(LAUNCH)
    done = world.reps(8)
    others = world.reps(8, team="West")
    world.enrol(program, done + others, LAUNCH, [LAUNCH] * 8 + [None] * 8)
    owners, closes, wins = [], [], []
    deal_level = {0: [], 1: []}
    for rep in done + others:
        big = rep == done[0]
        k = 3000 if big else 20
        for period, (start, end) in enumerate((PRE, POST)):
            rate = 0.6 if big and period else 0.3
            won = np.zeros(k, bool)
            won[: round(rate * k)] = True
            owners += [rep] * k
            closes += list(spread(start, end, k, rng))
            wins += list(won)
            if rep in done:
                deal_level[period].append(won)
    world.deals(owners, closes, won=wins)

    result = impact.diff_in_diff(program.pk, "win_rate", resamples=1000, seed=4)
    assert result.did.estimate > 0.25
    assert result.did.ci_low < 0.05  # samples without the big rep show no change
    assert result.did.ci_high > 0.25

    # The naive deal-level bootstrap of the completers' change, for contrast: narrow and far
    # from zero. This is the mistake the cluster bootstrap avoids.
    pre, post = np.concatenate(deal_level[0]), np.concatenate(deal_level[1])
    boot = np.random.default_rng(5)
    changes = [
        boot.choice(post, len(post)).mean() - boot.choice(pre, len(pre)).mean() for _ in range(300)
    ]
    assert np.percentile(changes, 2.5) > 0.2


def test_pre_and_post_windows_follow_each_reps_anchor(world: World) -> None:
    """Completers are anchored at their own completion, the others at their enrolment;
    deals outside the windows and reps without deals on both sides are left out."""
    program = world.program(LAUNCH)
    done = world.reps(5)
    others = world.reps(5, team="West")
    late = date(2025, 10, 1)
    world.enrol(program, done + others, LAUNCH, [late] * 5 + [None] * 5)
    owners, closes, wins = [], [], []
    for rep in done:
        owners += [rep] * 4
        # before completion (two, one of them still after the launch), after, and too late
        closes += [date(2025, 5, 1), date(2025, 9, 1), date(2025, 11, 1), date(2026, 6, 1)]
        wins += [False, False, True, True]
    for rep in others:
        owners += [rep] * 3
        closes += [date(2025, 2, 1), date(2025, 8, 1), date(2024, 1, 1)]
        wins += [False, True, True]
    lonely = world.reps(1)[0]
    world.enrol(program, [lonely], LAUNCH)
    owners += [lonely]
    closes += [date(2025, 8, 1)]
    wins += [True]
    world.deals(owners, closes, won=wins)

    set_params("win_rate", min_n=1)
    result = impact.diff_in_diff(program.pk, "win_rate", resamples=200)
    assert result.completed.pre.n == 10 and result.completed.post.n == 5
    assert result.completed.pre.estimate == 0.0 and result.completed.post.estimate == 1.0
    assert result.not_completed.pre.n == 5 and result.not_completed.post.n == 5
    assert result.not_completed.reps == 5
    assert result.excluded_reps == 1
    assert result.did.estimate == pytest.approx(0.0)


def test_insufficient_below_min_n(world: World) -> None:
    program, *_ = planted(world, 0.1, reps=4, deals=10)
    result = impact.diff_in_diff(program.pk, "win_rate", resamples=100)
    assert result.insufficient
    assert result.did.estimate is None and result.did.ci_low is None
    assert result.completed.reps == 4


def test_one_event_metrics_say_it_does_not_apply(world: World) -> None:
    program = world.program(LAUNCH)
    for metric in ("time_to_first_deal_days", "ramp_time_days", "retention_2y"):
        result = impact.diff_in_diff(program.pk, metric)
        assert not result.applicable
        assert "Compare completed with not completed" in result.reason
        assert result.as_dict()["did"] is None


def test_median_sales_cycle_planted_shortening(world: World) -> None:
    """Completers' deals close 20 days faster after the program; the others' do not."""
    rng = np.random.default_rng(9)
    program = world.program(LAUNCH)
    done = world.reps(15)
    others = world.reps(15, team="West")
    world.enrol(program, done + others, LAUNCH, [LAUNCH] * 15 + [None] * 15)
    owners, closes, cycles = [], [], []
    for rep in done + others:
        for period, (start, end) in enumerate((PRE, POST)):
            shift = 20 if (rep in done and period) else 0
            owners += [rep] * 30
            closes += list(spread(start, end, 30, rng))
            cycles += list(rng.integers(40, 80, 30) - shift)
    world.deals(owners, closes, cycle_days=cycles)
    result = impact.diff_in_diff(program.pk, "sales_cycle_days", resamples=500, seed=3)
    assert result.did.ci_low < -20 < result.did.ci_high
    assert result.did.ci_high < 0


def test_single_rep_groups_get_no_interval(world: World) -> None:
    program, *_ = planted(world, 0.1, reps=1, deals=20)
    set_params("win_rate", min_n=1)
    result = impact.diff_in_diff(program.pk, "win_rate", resamples=100)
    assert not result.insufficient and result.did.estimate is not None
    assert result.did.ci_low is None and result.did.ci_high is None
    assert result.notes  # and it says the groups are small
