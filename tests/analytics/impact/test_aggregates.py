"""The bootstrap's per-rep aggregates give exactly what `metrics.point` gives on the same
resampled deals (else the interval would describe a different number than the estimate)."""

from __future__ import annotations

import zlib

import numpy as np
import pandas as pd
import pytest

from verity.analytics import metrics
from verity.analytics.definitions import Definition, defaults
from verity.analytics.resampling import Cell, plan_for

CASES = [
    ("win_rate", {"value": "count"}),
    ("win_rate", {"value": "amount"}),
    ("deal_size", {"statistic": "mean"}),
    ("deal_size", {"statistic": "median"}),
    ("sales_cycle_days", {"statistic": "median", "population": "won"}),
    ("sales_cycle_days", {"statistic": "mean", "population": "closed"}),
    ("sales_cycle_days", {"statistic": "median", "population": "all"}),
    ("days_in_stage", {"statistic": "median", "mode": "cumulative"}),
    ("time_to_first_deal_days", {}),
    ("retention_2y", {}),
    ("nps", {}),
]


def frame(metric: str, reps: int, rng: np.random.Generator, continuous: bool) -> pd.DataFrame:
    per_rep = 1 if metric in ("time_to_first_deal_days", "retention_2y") else 25
    owner = np.repeat(np.arange(100, 100 + reps), per_rep)
    n = len(owner)
    duration = rng.exponential(300, n) if continuous else rng.integers(0, 400, n).astype(float)
    return pd.DataFrame(
        {
            "owner_id": owner,
            "when": np.datetime64("2025-01-01", "s"),
            "won": rng.random(n) < 0.4,
            "amount": rng.lognormal(8, 1, n) if continuous else rng.integers(1, 50, n) * 100.0,
            "duration": duration,
            "observed": rng.random(n) < 0.7,
            "score": rng.integers(0, 11, n),
        }
    )


@pytest.mark.parametrize(("metric", "params"), CASES)
@pytest.mark.parametrize("continuous", [False, True])
def test_cell_statistic_equals_point_on_resampled_units(
    db: None, metric: str, params: dict, continuous: bool
) -> None:
    definition = Definition(metric, 1, {**defaults(metric), **params}, {})
    # A fixed seed per case (str hashes change per process): the binned-median tolerance is
    # checked on the same data every run.
    rng = np.random.default_rng(zlib.crc32(f"{metric}{params}{continuous}".encode()))
    reps = 60  # 1,500 deals: over 512 distinct values when continuous
    units = frame(metric, reps, rng, continuous)
    plan = plan_for(metric, units, definition)
    assert plan.kind != "generic"
    code = units["owner_id"].to_numpy() - 100
    cell = Cell(plan, np.ones(len(units), bool), code, reps)
    counts = np.vstack([np.ones(reps, int), rng.multinomial(reps, [1 / reps] * reps, size=5)])
    # Whole numbers of days (at most 400 distinct) take the exact path; continuous values
    # over 512 distinct ones the binned one.
    assert cell.kind == "ratio" or cell.exact == (not continuous or len(units) <= 512)
    fast = cell.statistic(counts)
    for row, value in zip(counts, fast, strict=True):
        rows = np.concatenate([np.flatnonzero(code == r) for r in np.repeat(np.arange(reps), row)])
        expected = metrics.point(metric, units.iloc[rows], definition)
        if expected is None:  # e.g. a Kaplan-Meier median not reached: +inf in the bootstrap
            assert np.isnan(value) or value == np.inf
        elif plan.kind in ("median", "km_median") and not cell.exact:
            # Over 512 distinct values the median is read from 256 quantile bins.
            column = "amount" if metric == "deal_size" else "duration"
            scale = units[column].quantile(0.75) - units[column].quantile(0.25)
            assert value == pytest.approx(expected, abs=0.02 * scale)
        else:
            assert value == pytest.approx(expected, rel=1e-6)
