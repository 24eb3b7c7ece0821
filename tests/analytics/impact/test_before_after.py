"""Before/after by quarter: deals land in their quarters, each beside the same quarter a
year earlier, from four quarters before the launch to today."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest

from verity.analytics import impact

from .conftest import World, set_params


def test_quarters_and_year_earlier(world: World) -> None:
    program = world.program(date(2025, 7, 15))
    reps = world.reps(3)
    world.enrol(program, reps, date(2025, 7, 15))
    outsider = world.reps(1, team="Elsewhere")[0]  # not in the program: never counted
    closes = (
        [date(2024, 8, 10)] * 2  # 2024-Q3: the year-earlier twin of the launch quarter
        + [date(2025, 3, 31)] * 3  # 2025-Q1, last day of the quarter
        + [date(2025, 4, 1)] * 4  # 2025-Q2, first day
        + [date(2025, 9, 30)] * 5  # 2025-Q3 (launch quarter)
        + [date(2026, 6, 30)] * 6  # 2026-Q2 (today's quarter is 2026-Q3)
    )
    wins = [True, False] + [True] * 3 + [False] * 4 + [True, True, False, False, False] + [True] * 6
    owners = [reps[i % 3] for i in range(len(closes))]
    world.deals(owners + [outsider] * 10, closes + [date(2025, 9, 1)] * 10, won=wins + [True] * 10)
    set_params("win_rate", min_n=1)

    result = impact.before_after(program.pk, "win_rate")
    keys = [q.quarter for q in result.quarters]
    assert keys[0] == "2024-Q3" and keys[-1] == "2026-Q3"  # launch 2025-Q3 - 4 .. today
    assert len(keys) == 9
    by_key = {q.quarter: q for q in result.quarters}
    assert by_key["2025-Q3"].offset == 0 and by_key["2024-Q3"].offset == -4
    assert by_key["2025-Q1"].current.n == 3 and by_key["2025-Q1"].current.estimate == 1.0
    assert by_key["2025-Q2"].current.n == 4 and by_key["2025-Q2"].current.estimate == 0.0
    launch_q = by_key["2025-Q3"]
    assert launch_q.current.n == 5 and launch_q.current.estimate == pytest.approx(0.4)
    assert launch_q.year_earlier.key == "2024-Q3"
    assert launch_q.year_earlier.n == 2 and launch_q.year_earlier.estimate == 0.5
    assert launch_q.change == pytest.approx(-0.1)
    assert by_key["2026-Q2"].current.n == 6
    assert by_key["2026-Q2"].year_earlier.key == "2025-Q2"
    assert by_key["2026-Q2"].year_earlier.n == 4
    assert by_key["2026-Q3"].current.n == 0 and by_key["2026-Q3"].current.insufficient
    assert by_key["2026-Q3"].change is None
    assert result.population == "enrolled" and result.people_n == 3
    assert result.launch == "2025-07-15"
    rows = result.csv_rows()
    assert rows[4]["quarter"] == "2025-Q3" and rows[4]["year_earlier_n"] == 2
    assert result.as_dict()["quarters"][4]["phase"] == "after"


def test_below_min_n_is_insufficient(world: World) -> None:
    program = world.program(date(2025, 7, 1))
    reps = world.reps(2)
    world.enrol(program, reps, date(2025, 7, 1))
    world.deals(reps * 2, [date(2025, 8, 1)] * 4, won=[True, False, True, True])
    result = impact.before_after(program.pk, "win_rate")  # default min_n 5
    q = next(q for q in result.quarters if q.quarter == "2025-Q3")
    assert q.current.n == 4 and q.current.insufficient and q.current.estimate is None
    assert result.insufficient


def test_launch_falls_back_to_first_enrolment(world: World) -> None:
    program = world.program(None)
    reps = world.reps(2)
    world.enrol(program, reps, [date(2025, 11, 20), date(2025, 12, 5)])
    world.deals(reps, [date(2025, 1, 1)] * 2)
    result = impact.before_after(program.pk, "deal_size")
    assert result.launch == "2025-11-20"
    assert result.quarters[0].quarter == "2024-Q4"


def test_program_never_launched_has_no_quarters(world: World) -> None:
    program = world.program(None)
    result = impact.before_after(program.pk, "win_rate")
    assert result.quarters == [] and result.launch is None
    assert np.isnan(np.nan)  # nothing else to compute
