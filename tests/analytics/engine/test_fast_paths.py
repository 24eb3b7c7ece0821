"""The fast paths behind the analytics pages give exactly what the plain computations give:
the numeric read of the opportunities (SQLite: one group_concat per column) against an
ordinary ORM query, the columnar snapshot against the database, the units of a population
taken from everyone's units against units built for that population alone, and the
sparse per-rep count matrices of the bootstraps against dense ones."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from django.db import connection

from tests.analytics.engine.conftest import AS_OF, Crm, days
from verity.accounts.models import User
from verity.analytics import frames, metrics, resampling
from verity.analytics.definitions import in_force
from verity.analytics.models import Opportunity
from verity.learning.models import Enrollment, EnrollmentState, Program


def plain_opportunities() -> pd.DataFrame:
    """What frames.opportunities() means, read the slow, obvious way through the ORM."""
    rows = list(
        Opportunity.objects.order_by("pk").values_list(
            "pk", "owner_id", "product_id", "amount", "outcome", "created_date", "close_date"
        )
    )
    frame = pd.DataFrame.from_records(
        rows,
        columns=["id", "owner_id", "product_id", "amount", "outcome", "created_date", "close_date"],
    )
    frame["product_id"] = frame["product_id"].astype("float64")
    frame["amount"] = frame["amount"].map(float)
    for name in ("created_date", "close_date"):
        frame[name] = pd.to_datetime(frame[name]).astype("datetime64[s]")
    return frame


def assert_same_opportunities(fast: pd.DataFrame, plain: pd.DataFrame) -> None:
    fast = fast.sort_values("id").reset_index(drop=True)
    assert list(fast.columns) == list(plain.columns)
    for name in plain.columns:
        if name == "outcome":
            assert fast[name].astype(str).tolist() == plain[name].tolist()
            assert isinstance(fast[name].dtype, pd.CategoricalDtype)
        else:
            assert fast[name].dtype == plain[name].dtype, name
            pd.testing.assert_series_equal(fast[name], plain[name], check_names=False)


@pytest.fixture
def deals(crm: Crm) -> list[User]:
    reps = [crm.person(hire=AS_OF - days(400 + 30 * i), team=f"T{i % 3}") for i in range(12)]
    product = crm.product("Widget", launch=AS_OF - days(200))
    rng = np.random.default_rng(5)
    rows = []
    for i in range(600):
        created = AS_OF - days(int(rng.integers(5, 700)))
        outcome = ["open", "won", "lost"][int(rng.integers(0, 3))]
        rows.append(
            {
                "owner": reps[int(rng.integers(0, len(reps)))],
                "outcome": outcome,
                # Cents, big amounts, zero: every case of the exact cents read.
                "amount": Decimal(int(rng.integers(0, 10**9))) / 100
                if i % 7
                else Decimal("123456789012.34"),
                "created": created,
                "close": None if outcome == "open" and i % 2 else created + days(i % 90),
                "product": product if i % 3 == 0 else None,
            }
        )
    # Dates before 1970 and far ahead count too (day numbers below zero, or large).
    rows.append(
        {
            "owner": reps[0],
            "outcome": "won",
            "created": date(1965, 3, 1),
            "close": date(2101, 1, 2),
            "amount": Decimal("0.01"),
        }
    )
    crm.deals(rows)
    return reps


def test_fast_read_equals_plain_query(deals: list[User]) -> None:
    assert_same_opportunities(frames.opportunities(), plain_opportunities())


@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite keeps what it is given")
def test_amounts_beyond_cents_are_read_as_floats(deals: list[User]) -> None:
    # Not something Django writes, but a hand-made database might: the cents read would
    # round it, so every amount is read as a float instead.
    first = Opportunity.objects.order_by("pk").first()
    assert first is not None
    with connection.cursor() as cursor:
        cursor.execute("UPDATE analytics_opportunity SET amount = 10.125 WHERE id = %s", [first.pk])
    frames.bump_data_version()
    fast = frames.opportunities().set_index("id")["amount"]
    assert fast[first.pk] == 10.125
    plain = plain_opportunities().set_index("id")["amount"].drop(first.pk)
    pd.testing.assert_series_equal(fast.drop(first.pk), plain, check_names=False)


def test_snapshot_round_trip_and_staleness(
    deals: list[User], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    path = tmp_path / "analytics" / "opportunities-test.npz"
    monkeypatch.setattr(frames, "_snapshot_path", lambda name: path)
    monkeypatch.setattr(frames, "SNAPSHOT_MIN_ROWS", 1)
    frames.bump_data_version()
    first = frames.opportunities()
    assert path.exists()

    # A new process (an empty cache) loads the snapshot and never queries the table.
    read = frames._read_opportunities
    frames._cache.clear()

    def no_query() -> None:
        raise AssertionError("read the database although the snapshot is current")

    monkeypatch.setattr(frames, "_read_opportunities", no_query)
    again = frames.opportunities()
    assert again is not first
    assert_same_opportunities(again, plain_opportunities())

    # New data: the snapshot is for an older stamp, so the table is read (and the snapshot
    # replaced).
    monkeypatch.setattr(frames, "_read_opportunities", read)
    Opportunity.objects.filter(pk=Opportunity.objects.order_by("pk").first().pk).update(  # type: ignore[union-attr]
        amount=Decimal("7.00"), outcome="lost"
    )
    frames.bump_data_version()
    fresh = frames.opportunities()
    assert_same_opportunities(fresh, plain_opportunities())
    frames._cache.clear()
    monkeypatch.setattr(frames, "_read_opportunities", no_query)
    assert_same_opportunities(frames.opportunities(), plain_opportunities())


def test_unreadable_snapshot_falls_back_to_the_database(
    deals: list[User], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    path = tmp_path / "opportunities.npz"
    path.write_bytes(b"not a numpy file")
    monkeypatch.setattr(frames, "_snapshot_path", lambda name: path)
    frames.bump_data_version()
    assert_same_opportunities(frames.opportunities(), plain_opportunities())


def test_people_frame_is_the_same_object_until_a_row_changes(deals: list[User]) -> None:
    first = frames.people()
    assert frames.people() is first
    User.objects.filter(pk=deals[0].pk).update(team="Moved")
    moved = frames.people()
    assert moved is not first
    assert moved.set_index("id").loc[deals[0].pk, "team"] == "Moved"


@pytest.mark.parametrize(
    "metric",
    [
        "win_rate",
        "deal_size",
        "sales_cycle_days",
        "new_product",
        "time_to_first_deal_days",
        "ramp_time_days",
        "retention_2y",
    ],
)
def test_population_units_equal_units_built_for_the_population(
    crm: Crm, deals: list[User], metric: str
) -> None:
    for rep in deals[:8]:
        crm.quotas(rep, date(2025, 1, 1), 14, 5000.0)
    crm.person(hire=AS_OF - days(50))  # a rep without deals or quota
    definition = in_force(metric)
    everyone = {u.pk for u in User.objects.all()}
    for people in (None, {deals[0].pk, deals[3].pk, deals[9].pk}, everyone, set()):
        fast = metrics.units(metric, definition, people)
        built = metrics._build_units(
            metric, definition, frozenset(people) if people is not None else None
        )
        pd.testing.assert_frame_equal(
            fast.reset_index(drop=True), built.reset_index(drop=True), check_dtype=False
        )
        assert fast.attrs == built.attrs


def test_units_follow_hr_edits(crm: Crm, deals: list[User]) -> None:
    definition = in_force("retention_2y")
    before = metrics.units("retention_2y", definition)
    User.objects.filter(pk=deals[1].pk).update(termination_date=AS_OF - days(10))
    after = metrics.units("retention_2y", definition)
    row = after.set_index("owner_id").loc[deals[1].pk]
    assert bool(row["observed"]) is True
    assert not before.set_index("owner_id").loc[deals[1].pk, "observed"]


def test_enrolment_moments_are_cut_to_the_second(crm: Crm) -> None:
    owner = crm.person(hire=AS_OF - days(900))
    learner = crm.person(hire=AS_OF - days(300))
    program = Program.objects.create(name="P", owner=owner, status="active")
    late = datetime(2026, 3, 26, 18, 2, 43, 999594, tzinfo=UTC)
    Enrollment.objects.create(
        program=program,
        user=learner,
        enrolled_at=late - timedelta(days=3),
        completed_at=late,
        state=EnrollmentState.COMPLETED,
    )
    done = frames.completions(program.pk)
    assert done["completed_at"].tolist() == [pd.Timestamp("2026-03-26 18:02:43")]
    enrolled = frames.first_enrolments(program.pk)
    assert enrolled["enrolled_at"].tolist() == [pd.Timestamp("2026-03-23 18:02:43")]
    assert enrolled["user_id"].tolist() == [learner.pk]


def test_sparse_and_dense_count_matrices_agree() -> None:
    rng = np.random.default_rng(1)
    reps, size = 300, 40
    flat = rng.integers(0, reps, 500) * size + rng.integers(0, size, 500)
    matrix = resampling._count_matrix(flat, reps, size)
    assert resampling.sparse.issparse(matrix)  # 500 units over 12,000 cells
    dense = np.zeros((reps, size), dtype=np.float32)
    np.add.at(dense, (flat // size, flat % size), 1)
    counts = rng.integers(0, 4, (50, reps))
    np.testing.assert_array_equal(
        resampling._weighted(counts, matrix), resampling._weighted(counts, dense)
    )
    many = rng.integers(0, reps * size, 50_000)
    assert not resampling.sparse.issparse(resampling._count_matrix(many, reps, size))


def test_read_once_reads_people_and_the_stamp_once_per_block(
    deals: list[User], django_assert_num_queries: Any
) -> None:
    frames.opportunities()
    with frames.read_once():
        with django_assert_num_queries(2):  # the stamp, the people
            for _ in range(3):
                frames.people()
                frames.opportunities()
        with frames.read_once(), django_assert_num_queries(0):  # nested: the same block
            frames.people()
    # Outside a block every call reads again, and sees an edit.
    User.objects.filter(pk=deals[2].pk).update(team="Elsewhere")
    assert frames.people().set_index("id").loc[deals[2].pk, "team"] == "Elsewhere"


def test_an_import_queues_the_snapshot_for_the_worker(
    deals: list[User],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    django_capture_on_commit_callbacks: Any,
) -> None:
    path = tmp_path / "opportunities.npz"
    monkeypatch.setattr(frames, "_snapshot_path", lambda name: path)
    monkeypatch.setattr(frames, "SNAPSHOT_MIN_ROWS", 1)
    with django_capture_on_commit_callbacks(execute=True):  # the tests run jobs inline
        frames.bump_data_version()
    assert path.exists()
    # A page in another process then loads the snapshot instead of reading the table.
    frames._cache.clear()
    monkeypatch.setattr(frames, "_read_opportunities", lambda: pytest.fail("read the table"))
    assert_same_opportunities(frames.opportunities(), plain_opportunities())
