"""The units each metric counts, built from the frames with vectorised pandas (no Python
loop over deals): one row per deal, stage stay, rep or survey answer.

Every frame has `owner_id` (the rep) and `when` (datetime64) plus the metric's own
columns; see `docs/analytics-metrics.md` for what each column means and why each unit is
kept or dropped. Censored units (open deals, reps without a won deal, people still
employed) are KEPT with `observed = False`: dropping them would bias every duration down.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd
from django.db import connection

from verity.analytics import frames
from verity.analytics.definitions import Definition

DAY = np.timedelta64(1, "D")
DAYS_PER_YEAR = 365.25


def _days(delta: pd.Series) -> pd.Series:
    return (delta / DAY).astype("float64")


def lookup(keys: pd.Series, table: pd.Series) -> pd.Series:
    """`keys.map(table)` that keeps the table's dtype (pandas' map cannot cope with an empty
    datetime table) and is fast over a million keys. `table` has a unique index."""
    values = table.reindex(keys.to_numpy()).to_numpy()
    return pd.Series(values, index=keys.index, name=table.name)


def member_mask(ids: np.ndarray, members: Iterable[int]) -> np.ndarray:
    """`np.isin(ids, members)` by a lookup table indexed by id (a million ids in a few
    milliseconds; isin with a set of thousands hashes every one)."""
    ids = np.asarray(ids, dtype=np.int64)
    wanted = np.fromiter((int(m) for m in members), dtype=np.int64)
    wanted = wanted[wanted >= 0]
    if len(ids) == 0 or len(wanted) == 0:
        return np.zeros(len(ids), dtype=bool)
    top = int(max(ids.max(), wanted.max())) + 1
    if top > 50 * (len(ids) + len(wanted)) + 1_000_000:  # sparse huge ids: hash instead
        return np.isin(ids, wanted)
    table = np.zeros(top, dtype=bool)
    table[wanted] = True
    return table[np.clip(ids, 0, top - 1)] & (ids >= 0)


def _month_start(values: pd.Series) -> pd.Series:
    """The first day of each date's month (NaT stays NaT)."""
    months = values.to_numpy(dtype="datetime64[s]").astype("datetime64[M]")
    return pd.Series(months.astype("datetime64[s]"), index=values.index)


def _next_month_start(values: pd.Series) -> pd.Series:
    months = values.to_numpy(dtype="datetime64[s]").astype("datetime64[M]") + 1
    return pd.Series(months.astype("datetime64[s]"), index=values.index)


def _restrict(frame: pd.DataFrame, people: Iterable[int] | None, column: str) -> pd.DataFrame:
    if people is None:
        return frame
    return frame[member_mask(frame[column].to_numpy(dtype=np.int64), people)]


def _as_of() -> pd.Timestamp:
    return pd.Timestamp(frames.as_of())


# ---------------------------------------------------------------- deals


def deal_units(metric: str, definition: Definition, people: Iterable[int] | None) -> pd.DataFrame:
    opp = _restrict(frames.opportunities(), people, "owner_id")
    as_of = _as_of()
    # Compared on the categorical column itself: turning a million outcomes into strings
    # costs more than the whole estimate.
    outcome = opp["outcome"]
    closed = (outcome != "open") & opp["close_date"].notna()
    if metric == "win_rate":
        deals = opp[closed]
        return pd.DataFrame(
            {
                "owner_id": deals["owner_id"].to_numpy(),
                "when": deals["close_date"].to_numpy(),
                "won": (deals["outcome"] == "won").to_numpy(),
                "amount": deals["amount"].to_numpy(),
                "product_id": deals["product_id"].to_numpy(),
            }
        )
    if metric == "deal_size":
        deals = opp[closed & (outcome == "won")]
        return pd.DataFrame(
            {
                "owner_id": deals["owner_id"].to_numpy(),
                "when": deals["close_date"].to_numpy(),
                "amount": deals["amount"].to_numpy(),
                "product_id": deals["product_id"].to_numpy(),
            }
        )
    if metric == "sales_cycle_days":
        population = definition.params["population"]
        if population == "won":
            deals = opp[closed & (outcome == "won")]
        elif population == "closed":
            deals = opp[closed]
        else:
            # Open deals are censored at the as-of date; a "closed" deal without a close date
            # cannot be measured and is left out.
            deals = opp[closed | (outcome == "open")]
        is_closed = (deals["outcome"] != "open").to_numpy()
        end = deals["close_date"].where(is_closed, as_of)
        duration = _days(end - deals["created_date"]).clip(lower=0)
        # Closed deals belong to the period they closed in; with "all", deals are grouped by
        # the period they were created in (open deals have no close period yet).
        when = deals["created_date"] if population == "all" else deals["close_date"]
        return pd.DataFrame(
            {
                "owner_id": deals["owner_id"].to_numpy(),
                "when": when.to_numpy(),
                "duration": duration.to_numpy(),
                "observed": is_closed,
                "product_id": deals["product_id"].to_numpy(),
            }
        )
    if metric == "new_product":
        products = frames.products().dropna(subset=["launch_date"])
        launch = lookup(opp["product_id"], products.set_index("id")["launch_date"])
        deals = opp[launch.notna() & (opp["created_date"] >= launch)]
        return pd.DataFrame(
            {
                "owner_id": deals["owner_id"].to_numpy(),
                "when": deals["created_date"].to_numpy(),
                "won": (deals["outcome"] == "won").to_numpy(),
                "amount": deals["amount"].to_numpy(),
                "product_id": deals["product_id"].to_numpy(),
            }
        )
    if metric == "days_in_stage":
        return _stage_units(opp, definition, as_of)
    raise AssertionError(metric)


def _stage_units(opp: pd.DataFrame, definition: Definition, as_of: pd.Timestamp) -> pd.DataFrame:
    """A stay in a stage lasts until the opportunity's next stage entry, else its close
    date (closed deals), else the as-of date (open deals: the stay is still running and is
    marked unobserved). The stage a closed deal ends in (entered on or after the close
    date, e.g. "Closed Won") is not a stay and is left out."""
    entries = frames.stage_entries()
    deals = opp.set_index("id")
    entries = entries[entries["opportunity_id"].isin(deals.index)]
    entries = entries.sort_values(["opportunity_id", "entered_at"], kind="stable")
    opp_id = entries["opportunity_id"]
    next_entry = entries["entered_at"].shift(-1).where(opp_id.shift(-1) == opp_id)
    outcome = lookup(opp_id, deals["outcome"].astype(str))
    close = lookup(opp_id, deals["close_date"])
    is_closed = (outcome != "open") & close.notna()
    end = next_entry.fillna(close.where(is_closed)).fillna(as_of)
    terminal = next_entry.isna() & is_closed & (entries["entered_at"].dt.normalize() >= close)
    stays = pd.DataFrame(
        {
            "opportunity_id": opp_id,
            "stage": entries["stage"].astype(str),
            "entered_at": entries["entered_at"],
            "duration": _days(end - entries["entered_at"]).clip(lower=0),
            "observed": next_entry.notna() | is_closed,
        }
    )[~terminal.to_numpy()]
    if definition.params["mode"] == "latest":
        stays = stays.groupby(["opportunity_id", "stage"], sort=False).tail(1)
    else:
        stays = (
            stays.groupby(["opportunity_id", "stage"], sort=False)
            .agg(
                entered_at=("entered_at", "min"),
                duration=("duration", "sum"),
                observed=("observed", "all"),
            )
            .reset_index()
        )
    ids = stays["opportunity_id"]
    return pd.DataFrame(
        {
            "owner_id": lookup(ids, deals["owner_id"]).to_numpy(),
            "when": stays["entered_at"].to_numpy(),
            "stage": stays["stage"].to_numpy(),
            "duration": stays["duration"].to_numpy(),
            "observed": stays["observed"].to_numpy(dtype=bool),
            "product_id": lookup(ids, deals["product_id"]).to_numpy(dtype="float64"),
            "opportunity_id": ids.to_numpy(),
        }
    )


# ---------------------------------------------------------------- reps


def rep_people(people: Iterable[int] | None) -> pd.DataFrame:
    """Who counts as a rep for the deal-based rep metrics: people with a hire date (on or
    before the as-of date) who own a deal or have a quota, plus every salesperson — a new
    hire without a deal yet is exactly the censored case that must not vanish."""
    staff = _restrict(frames.people(), people, "id")
    staff = staff[staff["hire_date"].notna() & (staff["hire_date"] <= _as_of())]
    owners = set(frames.opportunities()["owner_id"].unique()) | set(
        frames.quotas()["owner_id"].unique()
    )
    return staff[staff["id"].isin(owners) | (staff["job_function"] == "sales")]


def _exit(staff: pd.DataFrame, as_of: pd.Timestamp) -> pd.Series:
    """Where follow-up ends: the termination date if it has passed, else the as-of date."""
    term = staff["termination_date"]
    return term.where(term.notna() & (term <= as_of), as_of)


def first_deal_units(people: Iterable[int] | None) -> pd.DataFrame:
    reps = rep_people(people)
    as_of = _as_of()
    opp = frames.opportunities()
    won = opp[(opp["outcome"] == "won") & opp["close_date"].notna()]
    hire = reps.set_index("id")["hire_date"]
    won = won[won["owner_id"].isin(hire.index)]
    # Deals closed before the hire date (a transferred book, a data slip) are not the
    # rep's first win.
    won = won[won["close_date"] >= lookup(won["owner_id"], hire)]
    first = won.groupby("owner_id")["close_date"].min()
    first_win = lookup(reps["id"], first)
    end = _exit(reps, as_of)
    observed = first_win.notna() & (first_win <= end)
    stop = first_win.where(observed, end)
    return pd.DataFrame(
        {
            "owner_id": reps["id"].to_numpy(),
            "when": reps["hire_date"].to_numpy(),
            "duration": _days(stop - reps["hire_date"]).clip(lower=0).to_numpy(),
            "observed": observed.to_numpy(dtype=bool),
        }
    )


def ramp_units(definition: Definition, people: Iterable[int] | None) -> pd.DataFrame:
    frame, _excluded = ramp_units_with_excluded(definition, people)
    return frame


def ramp_units_with_excluded(
    definition: Definition, people: Iterable[int] | None
) -> tuple[pd.DataFrame, np.ndarray]:
    """Monthly attainment = won amount closed in the month / that month's quota. Only
    months that have ended by the as-of date and fall between the hire month and the
    termination count. The rep is ramped in the first month m that starts a run of
    `sustain_periods` consecutive months at or above `threshold`; the duration is the days
    from the hire date to the first day of m (0 when m is the hire month). Reps not ramped
    are censored at the as-of (or termination) date; reps without any quota are left out
    and counted in `attrs["excluded_without_quota"]` (their ids are returned too)."""
    threshold = float(definition.params["threshold"])
    sustain = int(definition.params["sustain_periods"])
    reps = rep_people(people)
    as_of = _as_of()
    months = monthly_attainment(reps)
    with_quota = set(months["owner_id"].unique())
    has_quota = reps["id"].isin(with_quota)
    excluded = reps["id"][~has_quota].to_numpy(dtype=np.int64)
    reps = reps[has_quota]
    months = months.sort_values(["owner_id", "month"], kind="stable").reset_index(drop=True)
    month_no = months["month"].dt.year * 12 + months["month"].dt.month
    hit = months["attainment"] >= threshold
    run = hit.copy()
    for k in range(1, sustain):
        same_owner = months["owner_id"].shift(-k) == months["owner_id"]
        consecutive = (month_no.shift(-k) - month_no) == k
        run &= same_owner & consecutive & hit.shift(-k, fill_value=False)
    ramped_month = months[run].groupby("owner_id")["month"].min()
    ramp = lookup(reps["id"], ramped_month)
    end = _exit(reps, as_of)
    observed = ramp.notna()
    stop = ramp.where(observed, end)
    frame = pd.DataFrame(
        {
            "owner_id": reps["id"].to_numpy(),
            "when": reps["hire_date"].to_numpy(),
            "duration": _days(stop - reps["hire_date"]).clip(lower=0).to_numpy(),
            "observed": observed.to_numpy(dtype=bool),
        }
    )
    frame.attrs["excluded_without_quota"] = len(excluded)
    return frame, excluded


def monthly_attainment(reps: pd.DataFrame) -> pd.DataFrame:
    """One row per rep and quota month (ended by the as-of date, within employment):
    owner_id, month, quota, won_amount, attainment, tenure_month (0 = the hire month)."""
    as_of = _as_of()
    quotas = frames.quotas()
    quotas = quotas[quotas["owner_id"].isin(reps["id"]) & (quotas["amount"] > 0)]
    month = _month_start(quotas["period_start"])
    month_end = _next_month_start(quotas["period_start"])
    staff = reps.set_index("id")
    hire = lookup(quotas["owner_id"], staff["hire_date"])
    term = lookup(quotas["owner_id"], staff["termination_date"])
    hire_month = _month_start(hire)
    keep = (month_end <= as_of) & (month >= hire_month) & (term.isna() | (month <= term))
    quotas = quotas[keep.to_numpy()]
    month = month[keep.to_numpy()]
    opp = frames.opportunities()
    won = opp[(opp["outcome"] == "won") & opp["close_date"].notna()]
    won = won[won["owner_id"].isin(reps["id"])]
    won_month = _month_start(won["close_date"])
    bookings = won.groupby([won["owner_id"], won_month.rename("month")])["amount"].sum()
    frame = pd.DataFrame(
        {
            "owner_id": quotas["owner_id"].to_numpy(),
            "month": month.to_numpy(),
            "quota": quotas["amount"].to_numpy(),
        }
    )
    index = pd.MultiIndex.from_arrays([frame["owner_id"], frame["month"]])
    frame["won_amount"] = bookings.reindex(index).fillna(0.0).to_numpy()
    frame["attainment"] = frame["won_amount"] / frame["quota"]
    hire_m = lookup(frame["owner_id"], staff["hire_date"])
    frame["tenure_month"] = (frame["month"].dt.year - hire_m.dt.year) * 12 + (
        frame["month"].dt.month - hire_m.dt.month
    )
    return frame


_attainment_lock = threading.Lock()
_attainment: dict[tuple[str, str], tuple[tuple[pd.DataFrame, ...], pd.DataFrame]] = {}


def attainment(people: Iterable[int] | None = None) -> pd.DataFrame:
    """`monthly_attainment(rep_people(people))`. The months of everyone are computed once
    and kept while the frames they come from are the same objects; a population's are
    those of everyone whose owner is in it (each row is one rep's month, computed from that
    rep's data alone)."""
    sources = (frames.opportunities(), frames.quotas(), frames.people())
    key = (connection.settings_dict["NAME"] or "", str(frames.as_of()))
    with _attainment_lock:
        entry = _attainment.get(key)
    if entry is not None and all(a is b for a, b in zip(entry[0], sources, strict=True)):
        everyone = entry[1]
    else:
        everyone = monthly_attainment(rep_people(None))
        with _attainment_lock:
            _attainment.clear()
            _attainment[key] = (sources, everyone)
    if people is None:
        return everyone
    mask = member_mask(everyone["owner_id"].to_numpy(dtype=np.int64), people)
    return everyone[mask].reset_index(drop=True)


def retention_units(people: Iterable[int] | None) -> pd.DataFrame:
    """Tenure of everyone with a hire date; people still employed are censored at the
    as-of date."""
    staff = _restrict(frames.people(), people, "id")
    as_of = _as_of()
    staff = staff[staff["hire_date"].notna() & (staff["hire_date"] <= as_of)]
    term = staff["termination_date"]
    left = term.notna() & (term <= as_of)
    end = term.where(left, as_of)
    return pd.DataFrame(
        {
            "owner_id": staff["id"].to_numpy(),
            "when": staff["hire_date"].to_numpy(),
            "duration": _days(end - staff["hire_date"]).clip(lower=0).to_numpy(),
            "observed": left.to_numpy(dtype=bool),
        }
    )


def nps_units(people: Iterable[int] | None) -> pd.DataFrame:
    answers = _restrict(frames.survey_responses(), people, "user_id")
    return pd.DataFrame(
        {
            "owner_id": answers["user_id"].to_numpy(),
            "when": answers["submitted_at"].to_numpy(),
            "score": answers["recommend"].to_numpy(),
            "program_id": answers["program_id"].to_numpy(),
        }
    )


def empty(columns: dict[str, Any]) -> pd.DataFrame:
    return pd.DataFrame({name: pd.Series(dtype=dtype) for name, dtype in columns.items()})
