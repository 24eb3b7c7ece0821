"""The imported facts as pandas DataFrames, the one place analytics read the database.

Reading a million opportunities is the slow part of a first analytics page, so:

- The query returns numbers only: dates as day numbers (`_day_sql`), the outcome as a
  small code, the amount in cents. On SQLite each column comes back as ONE string
  (`group_concat`) that numpy parses in C (`_sqlite_columns`), instead of a million Python
  tuples of strings and dates — about a second for 1M rows instead of ten. On PostgreSQL
  the same numeric query is fetched as ordinary rows.
- The frame is kept per process until the data version changes, and written as a columnar
  snapshot (`VAR_DIR/analytics/*.npz`, keyed by the database and the data stamp) that the
  next process loads in milliseconds instead of querying (`_snapshot_*`).
- Quotas and stage history are imported data too: cached on the data version the same way.
  People (HR fields can be edited outside an import), program completions and survey
  answers are read every time; `people()` hands back the same frame object while the rows
  are unchanged, so caches keyed on it (the metric engine's units) stay valid.

Dates are `datetime64[s]` columns (NaT when missing); amounts are float64 (money is stored
as decimals; the statistics do not need cent-exact arithmetic).
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from django.conf import settings
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from verity.analytics.models import DataVersion
from verity.core import jobs

log = logging.getLogger(__name__)

_cache_lock = threading.Lock()
_cache: dict[tuple[str, str, str], pd.DataFrame] = {}
# people(): the last rows read and the frame made of them, per database.
_stable: dict[tuple[str, str], tuple[Any, pd.DataFrame]] = {}

OUTCOMES = ["open", "won", "lost"]  # outcome codes 0, 1, 2 (-1: anything else → NaN)
MISSING_DAY = -(2**31)  # a day number standing for NULL (NaT)
MISSING_CENTS = -(2**62)  # an amount in cents standing for NULL (NaN)
# Below this many opportunities a snapshot saves nothing worth a file (and the tests, whose
# databases are small, never write one unless they lower it).
SNAPSHOT_MIN_ROWS = 100_000
SNAPSHOT_FORMAT = 1


_scope = threading.local()


@contextmanager
def read_once() -> Iterator[None]:
    """Within this block (one page) the data stamp, the people and a program's enrolments
    and completions are read from the database once: a page computes many metrics, and
    each would otherwise query them again. Nested blocks share the outer one. Callers get
    the same frame each time: treat it as read-only."""
    if getattr(_scope, "memo", None) is not None:
        yield
        return
    _scope.memo = {}
    try:
        yield
    finally:
        _scope.memo = None


def _once(name: str, read: Callable[[], Any]) -> Any:
    memo = getattr(_scope, "memo", None)
    if memo is None:
        return read()
    if name not in memo:
        memo[name] = read()
    return memo[name]


def data_version() -> int:
    row = DataVersion.objects.filter(pk=1).values_list("counter", flat=True).first()
    return int(row or 0)


def _data_stamp() -> str:
    """The counter and the moment it moved: a rolled-back change (a failed import, a test)
    can bring the counter back to a number an older frame was cached under, never the
    moment as well."""
    return _once(f"stamp:{_database()}", _read_stamp)  # type: ignore[no-any-return]


def _read_stamp() -> str:
    row = DataVersion.objects.filter(pk=1).values_list("counter", "changed_at").first()
    return f"{row[0]}@{row[1].isoformat()}" if row else "0"


def bump_data_version() -> None:
    """Call after any change to imported data (in the same transaction). Once it commits,
    the worker writes the new opportunities snapshot (`write_snapshot`), so that the first
    page after an import loads it instead of reading the table."""
    now = timezone.now()
    updated = DataVersion.objects.filter(pk=1).update(counter=F("counter") + 1, changed_at=now)
    if not updated:
        with transaction.atomic():
            DataVersion.objects.get_or_create(pk=1, defaults={"counter": 1})
    jobs.enqueue("analytics.snapshot", unique=True)


def write_snapshot() -> None:
    """Write the opportunities snapshot for the current data, unless it is there already
    (or the data is too small to need one). Not cached in this process: the worker serves
    no pages."""
    stamp = _read_stamp()
    if _snapshot_path("opportunities") is None or _snapshot_load("opportunities", stamp):
        return
    data = _read_opportunities()
    if _read_stamp() == stamp:  # an import that committed meanwhile: the next job's turn
        _snapshot_save("opportunities", stamp, data)


def _database() -> str:
    return connection.settings_dict["NAME"] or ""


def _cached(name: str, load: Callable[[str], pd.DataFrame]) -> pd.DataFrame:
    """The frame `name` for the current data stamp: from this process's cache, else
    `load(stamp)`."""
    stamp = _data_stamp()
    key = (_database(), name, stamp)
    with _cache_lock:
        frame = _cache.get(key)
    if frame is None:
        frame = load(stamp)
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


def _day_sql(column: str) -> str:
    """SQL for a date column as an integer day number (days since 1970-01-01), NULL (and,
    on SQLite, text that is not a date) as MISSING_DAY."""
    if connection.vendor == "sqlite":
        # julianday('1970-01-01') = 2440587.5; a date's julianday is always n + 0.5.
        days = f"CAST(julianday({column}) - 2440587.5 AS INTEGER)"
    elif connection.vendor == "postgresql":
        days = f"({column} - DATE '1970-01-01')"
    else:
        days = f"CAST(EXTRACT(EPOCH FROM {column}) / 86400 AS INTEGER)"
    return f"COALESCE({days}, {MISSING_DAY})"


def _from_days(days: np.ndarray) -> np.ndarray:
    """Day numbers → datetime64[s] (MISSING_DAY → NaT)."""
    days = np.asarray(days, dtype=np.int64)
    out = days.astype("datetime64[D]").astype("datetime64[s]")
    out[days == MISSING_DAY] = np.datetime64("NaT")
    return out


def _sqlite_columns(
    exprs: list[str], table: str, count_where: str = "0"
) -> tuple[list[np.ndarray], int] | None:
    """Each integer expression over every row of `table` as an int64 array, all in the
    same row order: one `group_concat` per column in ONE query (the aggregates are fed the
    rows of a single scan in turn, so position i is the same row in every column), parsed
    by numpy in C. Also the number of rows where `count_where` holds. None when the table
    is empty."""
    select = ", ".join(f"group_concat({e})" for e in exprs)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT COUNT(*), SUM(CASE WHEN {count_where} THEN 1 ELSE 0 END), {select} "
            f"FROM {table}"
        )
        row = cursor.fetchone()
    if not row or not row[0]:
        return None
    columns = [_parse_ints(text) for text in row[2:]]
    for column in columns:
        if len(column) != row[0]:
            raise RuntimeError(f"{table}: read {len(column)} values for {row[0]} rows")
    return columns, int(row[1] or 0)


def _parse_ints(text: str) -> np.ndarray:
    # np.fromstring with a separator is the C parser numpy still has for text (the
    # deprecation is about binary mode); it is ten times faster than splitting in Python.
    return np.fromstring(text, dtype=np.int64, sep=",")  # type: ignore[no-any-return]


# ---------------------------------------------------------------- opportunities

_OPPORTUNITY_COLUMNS = [
    "id",
    "owner_id",
    "product_id",
    "amount",
    "outcome",
    "created_date",
    "close_date",
]


def _outcome_sql() -> str:
    return "CASE outcome WHEN 'open' THEN 0 WHEN 'won' THEN 1 WHEN 'lost' THEN 2 ELSE -1 END"


def _read_opportunities() -> dict[str, np.ndarray]:
    """The opportunities as numpy columns: id, owner_id, product_id (-1: none), amount
    (float), outcome (code into OUTCOMES), created_date and close_date (day numbers)."""
    if connection.vendor == "sqlite":
        # Cents are exact integers for any amount with at most two decimals below 1e13,
        # and cents / 100 is then the very float that CAST(amount AS REAL) gives; if any
        # row is not such an amount, the amounts are read as floats instead.
        exprs = [
            "id",
            "owner_id",
            "COALESCE(product_id, -1)",
            f"COALESCE(CAST(ROUND(amount * 100) AS INTEGER), {MISSING_CENTS})",
            _outcome_sql(),
            _day_sql("created_date"),
            _day_sql("close_date"),
        ]
        read = _sqlite_columns(
            exprs,
            "analytics_opportunity",
            count_where="ABS(amount) >= 1e13 OR ABS(amount * 100 - ROUND(amount * 100)) > 1e-6",
        )
        if read is None:
            return {name: np.array([], dtype=np.int64) for name in _OPPORTUNITY_COLUMNS}
        columns, not_cents = read
        data = dict(zip(_OPPORTUNITY_COLUMNS, columns, strict=True))
        cents = data["amount"]
        data["amount"] = np.where(cents == MISSING_CENTS, np.nan, cents / 100)
        if not_cents:
            with connection.cursor() as cursor:
                cursor.execute("SELECT CAST(amount AS REAL) FROM analytics_opportunity")
                exact = np.fromiter((v for (v,) in cursor.fetchall()), dtype=np.float64)
            data["amount"] = exact
        return data
    frame = _query(
        f"SELECT id, owner_id, COALESCE(product_id, -1), CAST(amount AS DOUBLE PRECISION), "
        f"{_outcome_sql()}, {_day_sql('created_date')}, {_day_sql('close_date')} "
        "FROM analytics_opportunity",
        _OPPORTUNITY_COLUMNS,
    )
    return {
        name: frame[name].to_numpy(dtype=np.float64 if name == "amount" else np.int64)
        for name in _OPPORTUNITY_COLUMNS
    }


def _opportunity_frame(data: dict[str, np.ndarray]) -> pd.DataFrame:
    product = data["product_id"].astype(np.float64)
    product[data["product_id"] < 0] = np.nan
    codes = data["outcome"].astype(np.int8)
    return pd.DataFrame(
        {
            "id": data["id"].astype(np.int64),
            "owner_id": data["owner_id"].astype(np.int64),
            "product_id": product,
            "amount": data["amount"].astype(np.float64),
            "outcome": pd.Categorical.from_codes(codes, categories=OUTCOMES),
            "created_date": _from_days(data["created_date"]),
            "close_date": _from_days(data["close_date"]),
        }
    )


def opportunities() -> pd.DataFrame:
    """Columns: id, owner_id, product_id (float, NaN when none), amount, outcome
    (categorical "open"/"won"/"lost"), created_date, close_date."""

    def load(stamp: str) -> pd.DataFrame:
        data = _snapshot_load("opportunities", stamp)
        if data is None:
            data = _read_opportunities()
            # Saved only if no import committed between reading the stamp and the rows
            # (the frame is then cached under the older stamp and replaced next call).
            if _read_stamp() == stamp:
                _snapshot_save("opportunities", stamp, data)
        return _opportunity_frame(data)

    return _cached("opportunities", load)


# ---------------------------------------------------------------- snapshots


def snapshot_dir() -> Path:
    return Path(settings.VAR_DIR) / "analytics"


def _snapshot_path(name: str) -> Path | None:
    """Where this database's snapshot of `name` lives; None for databases that do not
    outlive the process (in-memory SQLite, as in the tests)."""
    db = connection.settings_dict
    database = str(db.get("NAME") or "")
    if connection.vendor == "sqlite" and (not database or "memory" in database):
        return None
    identity = "|".join(
        [connection.vendor, database, str(db.get("HOST") or ""), str(db.get("PORT") or "")]
    )
    digest = hashlib.sha256(identity.encode()).hexdigest()[:16]
    return snapshot_dir() / f"{name}-{digest}.npz"


def _snapshot_load(name: str, stamp: str) -> dict[str, np.ndarray] | None:
    """The columns saved for exactly this data stamp, else None (missing, stale or
    unreadable: the caller reads the database)."""
    if stamp == "0":
        return None
    path = _snapshot_path(name)
    if path is None or not path.exists():
        return None
    try:
        with np.load(path, allow_pickle=False) as saved:
            if str(saved["_stamp"]) != stamp or int(saved["_format"]) != SNAPSHOT_FORMAT:
                return None
            return {key: saved[key] for key in saved.files if not key.startswith("_")}
    except (OSError, ValueError, KeyError) as error:
        log.warning("analytics snapshot %s unreadable, reading the database: %s", path, error)
        return None


def _snapshot_save(name: str, stamp: str, data: dict[str, np.ndarray]) -> None:
    """Write the columns for this stamp (atomically: a reader sees the old file or the new
    one, never half of one). A failure is logged, never raised — the snapshot only saves
    time."""
    path = _snapshot_path(name)
    rows = len(next(iter(data.values()), []))
    if path is None or stamp == "0" or rows < SNAPSHOT_MIN_ROWS:
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        # Narrow types where they are exact: half the file, half the load time.
        small = {
            key: (
                values.astype(np.int32)
                if values.dtype == np.int64
                and (len(values) == 0 or (values.min() >= -(2**31) and values.max() < 2**31))
                else values
            )
            for key, values in data.items()
        }
        handle, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{name}-", suffix=".npz")
    except OSError as error:
        log.warning("analytics snapshot %s not written: %s", path, error)
        return
    arrays: dict[str, Any] = {
        "_stamp": np.array(stamp),
        "_format": np.array(SNAPSHOT_FORMAT),
        **small,
    }
    try:
        with os.fdopen(handle, "wb") as out:
            np.savez(out, **arrays)
        os.replace(temp, path)
    except OSError as error:
        log.warning("analytics snapshot %s not written: %s", path, error)
        Path(temp).unlink(missing_ok=True)


def clear_snapshots() -> None:
    """Remove this database's snapshots (tests; a snapshot for another stamp is ignored
    anyway)."""
    for name in ("opportunities",):
        path = _snapshot_path(name)
        if path is not None:
            path.unlink(missing_ok=True)


# ---------------------------------------------------------------- people and the rest


_PEOPLE_COLUMNS = [
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
]


def people() -> pd.DataFrame:
    """Everyone with HR data or deals. Columns: id, name, email, job_function, team,
    manager_id, hire_date, termination_date, termination_type, is_active.

    Read on every call (HR fields change outside imports; inside `read_once`, once), but
    while the rows are the same as last time the same frame object comes back: callers may
    cache what they derive from it by identity."""
    return _once(f"people:{_database()}", _read_people)  # type: ignore[no-any-return]


def _read_people() -> pd.DataFrame:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT id, name, email, job_function, team, manager_id, "
            f"{_day_sql('hire_date')}, {_day_sql('termination_date')}, termination_type, "
            "is_active FROM accounts_user ORDER BY id"
        )
        rows = cursor.fetchall()
    key = (_database(), "people")
    with _cache_lock:
        last = _stable.get(key)
    if last is not None and last[0] == rows:
        return last[1]
    frame = pd.DataFrame.from_records(rows, columns=_PEOPLE_COLUMNS)
    frame["id"] = frame["id"].astype(np.int64)
    frame["name"] = frame["name"].where(frame["name"] != "", frame["email"])
    frame["is_active"] = frame["is_active"].astype(bool)
    frame["manager_id"] = pd.to_numeric(frame["manager_id"]).astype("Int64")
    for name in ("hire_date", "termination_date"):
        frame[name] = _from_days(frame[name].to_numpy(dtype=np.int64))
    with _cache_lock:
        _stable[key] = (rows, frame)
    return frame


def quotas() -> pd.DataFrame:
    """Columns: owner_id, period_start, amount (monthly quota). Cached on the data
    version (quotas only change by import)."""

    def load(_stamp: str) -> pd.DataFrame:
        frame = _query(
            f"SELECT owner_id, {_day_sql('period_start')}, CAST(amount AS DOUBLE PRECISION) "
            "FROM analytics_quota",
            ["owner_id", "period_start", "amount"],
        )
        frame["owner_id"] = frame["owner_id"].astype(np.int64)
        frame["amount"] = frame["amount"].astype("float64")
        frame["period_start"] = _from_days(frame["period_start"].to_numpy(dtype=np.int64))
        return frame

    return _cached("quotas", load)


def stage_entries() -> pd.DataFrame:
    """Columns: opportunity_id, stage, entered_at (naive UTC). Cached on the data
    version (stage history only changes by import)."""

    def load(_stamp: str) -> pd.DataFrame:
        frame = _query(
            "SELECT opportunity_id, stage, entered_at FROM analytics_stageentry "
            "ORDER BY opportunity_id, entered_at",
            ["opportunity_id", "stage", "entered_at"],
        )
        _strip_tz(frame, "entered_at")
        return frame

    return _cached("stage_entries", load)


def _dates(frame: pd.DataFrame, *names: str) -> None:
    """SQLite returns dates as text and PostgreSQL as date objects: one dtype for both."""
    for name in names:
        frame[name] = pd.to_datetime(frame[name], errors="coerce", utc=False).astype(
            "datetime64[s]"
        )


def _strip_tz(frame: pd.DataFrame, *names: str) -> None:
    for name in names:
        # ISO8601: SQLite hands aggregates (MIN(completed_at)) back as text, some with
        # microseconds and some without; inferring one format from the first value would
        # turn the others into NaT.
        values = pd.to_datetime(frame[name], errors="coerce", utc=True, format="ISO8601")
        frame[name] = values.dt.tz_localize(None).astype("datetime64[s]")


def _seconds_sql(expr: str) -> str:
    """SQL for a datetime expression as whole seconds since 1970 (UTC; the fraction cut
    off, as `datetime64[s]` does), NULL as MISSING_DAY."""
    if connection.vendor == "sqlite":
        # Django keeps SQLite datetimes as naive UTC text, "YYYY-MM-DD HH:MM:SS[.ffffff]".
        # The fraction is cut off as text: strftime would round it through a float
        # (":43.9996" becomes ":44").
        seconds = f"CAST(strftime('%%s', substr({expr}, 1, 19)) AS INTEGER)"
    else:
        seconds = f"CAST(FLOOR(EXTRACT(EPOCH FROM {expr})) AS BIGINT)"
    return f"COALESCE({seconds}, {MISSING_DAY})"


def _from_seconds(seconds: np.ndarray) -> np.ndarray:
    seconds = np.asarray(seconds, dtype=np.int64)
    out = seconds.astype("datetime64[s]")
    out[seconds == MISSING_DAY] = np.datetime64("NaT")
    return out


def _first_moments(column: str, program_id: int, where: str = "") -> pd.DataFrame:
    """Each person's first `column` in the program's enrolments (any cycle); inside
    `read_once`, read once per program."""
    return _once(  # type: ignore[no-any-return]
        f"{column}:{program_id}:{_database()}",
        lambda: _read_first_moments(column, program_id, where),
    )


def _read_first_moments(column: str, program_id: int, where: str) -> pd.DataFrame:
    frame = _query(
        f"SELECT user_id, {_seconds_sql(f'MIN({column})')} FROM learning_enrollment "
        f"WHERE program_id = %s {where} GROUP BY user_id",
        ["user_id", column],
        [program_id],
    )
    frame["user_id"] = frame["user_id"].astype(np.int64)
    frame[column] = _from_seconds(frame[column].to_numpy(dtype=np.int64))
    return frame


def completions(program_id: int) -> pd.DataFrame:
    """Who completed the program and when (first completion of each person, any cycle).
    Columns: user_id, completed_at (naive UTC)."""
    return _first_moments("completed_at", program_id, "AND completed_at IS NOT NULL")


def first_enrolments(program_id: int) -> pd.DataFrame:
    """Everyone enrolled in the program and their first enrolment. Columns: user_id,
    enrolled_at (naive UTC)."""
    return _first_moments("enrolled_at", program_id)


def as_of() -> np.datetime64:
    """Today, the date open deals and current employees are censored at."""
    return np.datetime64(timezone.localdate(), "s")


def products() -> pd.DataFrame:
    """Columns: id, name, launch_date."""
    frame = _query(
        "SELECT id, name, launch_date FROM analytics_product", ["id", "name", "launch_date"]
    )
    _dates(frame, "launch_date")
    return frame


def survey_responses() -> pd.DataFrame:
    """Answers to programs' end surveys (the 0-10 recommend question). Columns: user_id,
    program_id, recommend, submitted_at (naive UTC). Survey steps inside a program are left
    out so that nobody counts twice for one program."""
    frame = _query(
        "SELECT e.user_id, e.program_id, r.recommend, r.submitted_at "
        "FROM learning_surveyresponse r JOIN learning_enrollment e ON e.id = r.enrollment_id "
        "WHERE r.step_id IS NULL",
        ["user_id", "program_id", "recommend", "submitted_at"],
    )
    frame["recommend"] = frame["recommend"].astype("int64")
    _strip_tz(frame, "submitted_at")
    return frame
