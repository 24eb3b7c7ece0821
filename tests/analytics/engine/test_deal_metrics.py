"""Deal metrics through the engine: win rate, deal size, sales cycle, days in stage,
new-product results; dimensions, windows, insufficient data and validation."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pytest
from django.core.exceptions import ValidationError
from scipy import stats as sps
from statsmodels.duration.survfunc import SurvfuncRight
from statsmodels.stats.proportion import proportion_confint

from tests.analytics.engine.conftest import AS_OF, Crm
from verity.analytics import metrics
from verity.analytics.definitions import in_force


def _deal(owner, outcome, amount=1000, created=date(2026, 1, 5), close=date(2026, 2, 5), **kw):
    return {
        "owner": owner,
        "outcome": outcome,
        "amount": amount,
        "created": created,
        "close": close if outcome != "open" else None,
        **kw,
    }


def test_win_rate_count_is_wilson_and_excludes_open_deals(crm: Crm) -> None:
    rep = crm.person(hire=date(2024, 1, 1))
    crm.deals([_deal(rep, "won")] * 7 + [_deal(rep, "lost")] * 13 + [_deal(rep, "open")] * 30)
    row = metrics.compute("win_rate").rows[0]
    low, high = proportion_confint(7, 20, method="wilson")
    assert row.n == 20
    assert row.estimate == pytest.approx(0.35)
    assert (row.ci_low, row.ci_high) == (pytest.approx(low), pytest.approx(high))
    assert row.method == "wilson"


def test_win_rate_by_amount_is_ratio_of_sums(crm: Crm) -> None:
    rep = crm.person(hire=date(2024, 1, 1))
    crm.deals([_deal(rep, "won", 9000)] + [_deal(rep, "lost", 1000)] * 9)
    row = metrics.compute("win_rate", overrides={"value": "amount"}).rows[0]
    assert row.estimate == pytest.approx(0.5)
    assert row.method == "ratio_delta"
    assert 0 <= row.ci_low < 0.5 < row.ci_high <= 1
    count_row = metrics.compute("win_rate").rows[0]
    assert count_row.estimate == pytest.approx(0.1)


def test_deal_size_mean_and_median_agree_with_scipy(crm: Crm) -> None:
    rep = crm.person(hire=date(2024, 1, 1))
    amounts = [1200, 5300, 800, 15000, 2500, 3100, 990, 4100, 7700, 2200, 6400]
    crm.deals([_deal(rep, "won", a) for a in amounts] + [_deal(rep, "lost", 99999)])
    mean = metrics.compute("deal_size").rows[0]
    ref = sps.ttest_1samp(amounts, 0).confidence_interval(0.95)
    assert mean.estimate == pytest.approx(np.mean(amounts))
    assert (mean.ci_low, mean.ci_high) == (pytest.approx(ref.low), pytest.approx(ref.high))
    median = metrics.compute("deal_size", overrides={"statistic": "median"}).rows[0]
    ci = sps.quantile_test(amounts, q=np.median(amounts)).confidence_interval(0.95)
    assert median.estimate == np.median(amounts)
    assert (median.ci_low, median.ci_high) == (ci.low, ci.high)
    assert median.method == "quantile_binomial"


def test_sales_cycle_all_keeps_open_deals_censored(crm: Crm) -> None:
    """Dropping the open deals (population closed) changes the answer: the long-running
    open deals are still at risk, so the Kaplan-Meier median is later."""
    rep = crm.person(hire=date(2024, 1, 1))
    start = date(2025, 1, 1)
    closed = [
        _deal(rep, "won", created=start, close=start + timedelta(days=d))
        for d in (10, 20, 30, 40, 50, 60)
    ]
    open_ = [_deal(rep, "open", created=start) for _ in range(5)]  # censored at AS_OF
    crm.deals(closed + open_)
    everything = metrics.compute("sales_cycle_days", overrides={"population": "all"}).rows[0]
    only_closed = metrics.compute("sales_cycle_days", overrides={"population": "closed"}).rows[0]
    assert only_closed.estimate == 35
    assert everything.method == "kaplan_meier"
    assert everything.n == 11
    assert everything.extra == {"events": 6, "censored": 5}
    durations = [10, 20, 30, 40, 50, 60] + [(AS_OF - start).days] * 5
    sf = SurvfuncRight(np.array(durations, float), np.array([1] * 6 + [0] * 5, float))
    assert everything.estimate == sf.quantile(0.5) == 60
    low, high = sf.quantile_ci(0.5, method="cloglog")
    assert everything.ci_low == pytest.approx(low)
    assert everything.ci_high is None if np.isinf(high) or np.isnan(high) else pytest.approx(high)


def test_sales_cycle_median_not_reached_is_none_not_a_guess(crm: Crm) -> None:
    rep = crm.person(hire=date(2024, 1, 1))
    start = date(2025, 1, 1)
    crm.deals(
        [_deal(rep, "won", created=start, close=start + timedelta(days=10))] * 3
        + [_deal(rep, "open", created=start)] * 6
    )
    row = metrics.compute("sales_cycle_days", overrides={"population": "all"}).rows[0]
    assert row.estimate is None and not row.insufficient
    assert row.extra["not_reached"] is True


def test_mean_with_censoring_is_refused(crm: Crm) -> None:
    with pytest.raises(ValidationError) as err:
        metrics.compute("sales_cycle_days", overrides={"population": "all", "statistic": "mean"})
    assert "statistic" in err.value.message_dict


def test_insufficient_data_below_min_n(crm: Crm) -> None:
    rep = crm.person(hire=date(2024, 1, 1))
    crm.deals([_deal(rep, "won")] * 2 + [_deal(rep, "lost")] * 2)
    row = metrics.compute("win_rate").rows[0]
    assert row.insufficient and row.n == 4 and row.estimate is None and row.ci_low is None


def test_group_by_team_quarter_rep_and_product(crm: Crm) -> None:
    east = crm.person(hire=date(2024, 1, 1), team="East", name="Ann")
    west = crm.person(hire=date(2025, 5, 1), team="West", name="Bob")
    widget = crm.product("Widget")
    crm.deals(
        [_deal(east, "won", close=date(2026, 2, 1), product=widget)] * 6
        + [_deal(east, "lost", close=date(2026, 4, 2))] * 6
        + [_deal(west, "lost", close=date(2026, 4, 3), product=widget)] * 5
    )
    by_team = {r.key: r for r in metrics.compute("win_rate", by="team").rows}
    assert by_team["East"].estimate == 0.5 and by_team["East"].n == 12
    assert by_team["West"].estimate == 0.0 and by_team["West"].n == 5
    by_quarter = metrics.compute("win_rate", by="quarter")
    assert [r.key for r in by_quarter.rows] == ["2026-Q1", "2026-Q2"]
    assert [r.n for r in by_quarter.rows] == [6, 11]
    assert by_quarter.rows[0].label == "2026 Q1"
    by_rep = metrics.compute("win_rate", by="rep")
    assert [r.label for r in by_rep.rows] == ["Ann", "Bob"]
    assert by_rep.rows[0].key == str(east.pk)
    by_product = {r.key: r for r in metrics.compute("win_rate", by="product").rows}
    assert by_product[str(widget.pk)].n == 11 and by_product[str(widget.pk)].label == "Widget"
    assert by_product["none"].n == 6
    cohorts = {r.key: r.n for r in metrics.compute("win_rate", by="hire_cohort").rows}
    assert cohorts == {"2024-Q1": 12, "2025-Q2": 5}
    window = metrics.compute("win_rate", date_from="2026-04-01", date_to="2026-04-02")
    assert window.rows[0].n == 6
    people = metrics.compute("win_rate", people={west.pk})
    assert people.rows[0].n == 5


def test_grouped_fast_path_matches_single_group_estimate(crm: Crm) -> None:
    rng = np.random.default_rng(3)
    reps = [crm.person(hire=date(2024, 1, 1), team=f"T{i % 3}") for i in range(6)]
    rows = []
    for rep in reps:
        for _ in range(int(rng.integers(3, 30))):
            rows.append(
                _deal(
                    rep,
                    str(rng.choice(["won", "lost"])),
                    float(rng.integers(100, 9000)),
                    close=date(2026, 1, 1) + timedelta(days=int(rng.integers(0, 90))),
                )
            )
    rows += [_deal(rep, "open", created=date(2025, 12, 1)) for rep in reps[:4]] * 3
    crm.deals(rows)
    for metric, overrides in [
        ("sales_cycle_days", {"population": "all"}),
        ("time_to_first_deal_days", {}),
        ("win_rate", {}),
        ("win_rate", {"value": "amount"}),
        ("deal_size", {}),
        ("deal_size", {"statistic": "median"}),
        ("sales_cycle_days", {}),
    ]:
        result = metrics.compute(metric, by="rep", overrides=overrides)
        definition = in_force(metric, overrides)
        units = metrics.units(metric, definition)
        for row in result.rows:
            part = units[units["owner_id"] == int(row.key)]
            single = metrics.estimate(metric, part, definition, row.key, row.label)
            assert row.n == single.n, metric
            for a, b in (
                (row.estimate, single.estimate),
                (row.ci_low, single.ci_low),
                (row.ci_high, single.ci_high),
            ):
                assert (a is None and b is None) or a == pytest.approx(b), (metric, overrides)


def test_validation_errors_name_the_problem(crm: Crm) -> None:
    with pytest.raises(ValidationError, match="Unknown metric"):
        metrics.compute("happiness")
    with pytest.raises(ValidationError) as err:
        metrics.compute("win_rate", by="planet")
    assert "by" in err.value.message_dict
    with pytest.raises(ValidationError) as err:
        metrics.compute("retention_2y", by="product")
    assert "product" in str(err.value)
    with pytest.raises(ValidationError, match="value must be one of"):
        metrics.compute("win_rate", overrides={"value": "weight"})
    with pytest.raises(ValidationError, match="is not a parameter"):
        metrics.compute("win_rate", overrides={"min_n": 3})
    with pytest.raises(ValidationError) as err:
        metrics.compute("win_rate", date_from="yesterday-ish")
    assert "from" in err.value.message_dict
    with pytest.raises(ValidationError) as err:
        metrics.compute("nps", by="rep")
    assert "anonymous" in str(err.value)


def test_days_in_stage_stays_latest_and_cumulative(crm: Crm) -> None:
    rep = crm.person(hire=date(2024, 1, 1))
    won, still_open = crm.deals(
        [
            _deal(rep, "won", created=date(2026, 1, 1), close=date(2026, 3, 1)),
            _deal(rep, "open", created=date(2026, 6, 1)),
        ]
    )
    crm.stages(
        won,
        [
            ("Prospecting", date(2026, 1, 1)),
            ("Proposal", date(2026, 1, 11)),
            ("Prospecting", date(2026, 1, 21)),
            ("Negotiation", date(2026, 2, 1)),
            ("Closed Won", date(2026, 3, 1)),  # the end state: not a stay
        ],
    )
    crm.stages(still_open, [("Prospecting", date(2026, 6, 1))])
    definition = in_force("days_in_stage")
    units = metrics.units("days_in_stage", definition)
    stays = {(u.opportunity_id, u.stage): u for u in units.itertuples()}
    assert stays[(won.pk, "Prospecting")].duration == 21  # 10 + 11 days
    assert stays[(won.pk, "Proposal")].duration == 10
    assert stays[(won.pk, "Negotiation")].duration == 28  # until the close date
    assert (won.pk, "Closed Won") not in stays
    assert stays[(still_open.pk, "Prospecting")].duration == 30  # running at AS_OF
    assert not stays[(still_open.pk, "Prospecting")].observed
    latest = metrics.units("days_in_stage", in_force("days_in_stage", {"mode": "latest"}))
    assert latest[latest["stage"] == "Prospecting"]["duration"].tolist() == [11, 30]
    result = metrics.compute(
        "days_in_stage", by="stage", overrides={"mode": "latest", "statistic": "mean"}
    )
    assert {r.key: r.n for r in result.rows} == {"Prospecting": 2, "Proposal": 1, "Negotiation": 1}
    assert all(r.insufficient for r in result.rows)


def test_new_product_counts_deals_since_launch(crm: Crm) -> None:
    rep = crm.person(hire=date(2024, 1, 1))
    new = crm.product("Insights", launch=date(2026, 1, 1))
    old = crm.product("Flow")  # no launch date: not a new product
    crm.deals(
        [_deal(rep, "won", amount=5000, created=date(2026, 2, 1), product=new)] * 6
        + [_deal(rep, "lost", created=date(2026, 2, 1), product=new)] * 3
        + [_deal(rep, "open", created=date(2026, 5, 1), product=new)] * 2
        + [_deal(rep, "won", created=date(2025, 12, 1), product=new)]  # before the launch
        + [_deal(rep, "won", created=date(2026, 2, 1), product=old)] * 4
    )
    won = metrics.compute("new_product", by="product").rows
    assert [(r.label, r.estimate, r.method) for r in won] == [("Insights", 6.0, "count")]
    pipeline = metrics.compute("new_product", overrides={"measure": "pipeline"}).rows[0]
    assert pipeline.estimate == 11 and pipeline.n == 11 and not pipeline.insufficient
    by_quarter = metrics.compute("new_product", by="quarter").rows  # 6 won in Q1, none in Q2
    assert [(r.key, r.estimate, r.insufficient) for r in by_quarter] == [
        ("2026-Q1", 6.0, False),
        ("2026-Q2", 0.0, False),
    ]
    size = metrics.compute("new_product", overrides={"measure": "deal_size"}).rows[0]
    assert size.n == 6 and size.estimate == 5000 and size.method == "t"


@pytest.mark.parametrize("metric", metrics.ENGINE_METRICS)
def test_no_data_is_insufficient_not_an_error(crm: Crm, metric: str) -> None:
    for by in metrics.dimensions_for(metric):
        if by == "program":
            continue
        result = metrics.compute(metric, by=by)
        if by == "all":
            # Counts of nothing are 0; every estimate is insufficient data.
            expected = 0.0 if metric == "new_product" else None
            assert [(r.key, r.n, r.estimate) for r in result.rows] == [("all", 0, expected)]
        else:
            assert result.rows == []
