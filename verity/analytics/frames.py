"""The imported facts as pandas DataFrames, the one place analytics read the database.

Opportunities are read with one raw query into numpy-backed columns (1M rows in about a
second on SQLite) and kept per process until the data version changes, so the views that
follow each other over the same data do not reload it. People, quotas, stage history and
program completions are small enough to read every time.

Dates are `datetime64[s]` columns (NaT when missing); amounts are float64 (money is stored
as decimals; the statistics do not need cent-exact arithmetic).
"""

from __future__ import annotations

import threading
from typing import Any

import numpy as np
import pandas as pd
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from verity.analytics.models import DataVersion

_cache_lock = threading.Lock()
_cache: dict[tuple[str, str, int], pd.DataFrame] = {}


def data_version() -> int:
    row = DataVersion.objects.filter(pk=1).values_list("counter", flat=True).first()
    return int(row or 0)


def bump_data_version() -> None:
    """Call after any change to imported data (in the same transaction)."""
    updated = DataVersion.objects.filter(pk=1).update(counter=F("counter") + 1)
    if not updated:
        with transaction.atomic():
            DataVersion.objects.get_or_create(pk=1, defaults={"counter": 1})


def _cached(name: str, load: Any) -> pd.DataFrame:
    key = (connection.settings_dict["NAME"] or "", name, data_version())
    with _cache_lock:
        frame = _cache.get(key)
    if frame is None:
        frame = load()
        with _cache_lock:
            for old in [k for k in _cache if k[:2] == key[:2]]:
                del _cache[old]
            _cache[key] = frame
    return frame


def _query(sql: str, columns: list[str], params: list[Any] | None = None) -> pd.DataFrame:
    with connection.cursor() as cursor:
        cursor.execute(sql, params or [])
        rows = cursor.fetchall()
    return pd.DataFrame.from_records(rows, columns=columns)


def _dates(frame: pd.DataFrame, *names: str) -> None:
    """SQLite returns dates as text and PostgreSQL as date objects: one dtype for both."""
    for name in names:
        frame[name] = pd.to_datetime(frame[name], errors="coerce", utc=False).astype(
            "datetime64[s]"
        )


def _strip_tz(frame: pd.DataFrame, *names: str) -> None:
    for name in names:
        values = pd.to_datetime(frame[name], errors="coerce", utc=True)
        frame[name] = values.dt.tz_localize(None).astype("datetime64[s]")


def opportunities() -> pd.DataFrame:
    """Columns: id, owner_id, product_id (float, NaN when none), amount, outcome
    ("open"/"won"/"lost"), created_date, close_date."""

    def load() -> pd.DataFrame:
        frame = _query(
            "SELECT id, owner_id, product_id, CAST(amount AS DOUBLE PRECISION), outcome, "
            "created_date, close_date FROM analytics_opportunity",
            ["id", "owner_id", "product_id", "amount", "outcome", "created_date", "close_date"],
        )
        frame["amount"] = frame["amount"].astype("float64")
        frame["product_id"] = frame["product_id"].astype("float64")
        frame["outcome"] = frame["outcome"].astype("category")
        _dates(frame, "created_date", "close_date")
        return frame

    return _cached("opportunities", load)


def people() -> pd.DataFrame:
    """Everyone with HR data or deals. Columns: id, name, email, job_function, team,
    manager_id, hire_date, termination_date, termination_type, is_active."""
    frame = _query(
        "SELECT id, name, email, job_function, team, manager_id, hire_date, termination_date, "
        "termination_type, is_active FROM accounts_user",
        [
            "id",
            "name",
            "email",
            "job_function",
            "team",
            "manager_id",
            "hire_date",
            "termination_date",
            "termination_type",
            "is_active",
        ],
    )
    frame["name"] = frame["name"].where(frame["name"] != "", frame["email"])
    frame["is_active"] = frame["is_active"].astype(bool)
    frame["manager_id"] = pd.to_numeric(frame["manager_id"]).astype("Int64")
    _dates(frame, "hire_date", "termination_date")
    return frame


def quotas() -> pd.DataFrame:
    """Columns: owner_id, period_start, amount (monthly quota)."""
    frame = _query(
        "SELECT owner_id, period_start, CAST(amount AS DOUBLE PRECISION) FROM analytics_quota",
        ["owner_id", "period_start", "amount"],
    )
    frame["amount"] = frame["amount"].astype("float64")
    _dates(frame, "period_start")
    return frame


def stage_entries() -> pd.DataFrame:
    """Columns: opportunity_id, stage, entered_at (naive UTC)."""
    frame = _query(
        "SELECT opportunity_id, stage, entered_at FROM analytics_stageentry "
        "ORDER BY opportunity_id, entered_at",
        ["opportunity_id", "stage", "entered_at"],
    )
    _strip_tz(frame, "entered_at")
    return frame


def completions(program_id: int) -> pd.DataFrame:
    """Who completed the program and when (first completion of each person, any cycle).
    Columns: user_id, completed_at (naive UTC)."""
    frame = _query(
        "SELECT user_id, MIN(completed_at) FROM learning_enrollment "
        "WHERE program_id = %s AND completed_at IS NOT NULL GROUP BY user_id",
        ["user_id", "completed_at"],
        [program_id],
    )
    _strip_tz(frame, "completed_at")
    return frame


def as_of() -> np.datetime64:
    """Today, the date open deals and current employees are censored at."""
    return np.datetime64(timezone.localdate(), "s")
