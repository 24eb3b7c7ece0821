"""The metric engine: units → estimates → results by dimension.

- `units(metric, definition, people)` — one row per thing the metric counts (deal, stage
  stay, rep, survey answer) with `owner_id`, `when` and the metric's value columns
  (built in `metrics_units.py`).
- `estimate(metric, units, definition)` — the estimate of any subset of units, with n, the
  interval and the method (statistics in `stats.py`, all from scipy/statsmodels); below the
  definition's `min_n` the row is "insufficient data".
- `point(metric, units, definition)` — the estimate alone, for bootstraps.
- `compute(metric, by, ...)` — the definition in force (plus query overrides), the units
  restricted to a window and a population, grouped by a dimension.

Definitions and methods are documented for people in docs/analytics-metrics.md.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterable
from datetime import date
from typing import Any

import numpy as np
import pandas as pd
from django.core.exceptions import ValidationError
from django.db import connection
from django.utils.translation import gettext as _

from verity.accounts.models import JobFunction
from verity.analytics import frames, stats
from verity.analytics import metrics_units as mu
from verity.analytics.definitions import Definition, clean_params, in_force, spec
from verity.analytics.results import MetricResult, ResultRow

DIMENSIONS = ("all", "rep", "team", "job_function", "product", "quarter", "hire_cohort", "program")

DEAL_METRICS = ("sales_cycle_days", "days_in_stage", "win_rate", "deal_size", "new_product")
REP_METRICS = ("ramp_time_days", "time_to_first_deal_days", "retention_2y")
SURVIVAL_METRICS = ("ramp_time_days", "time_to_first_deal_days", "retention_2y")
ENGINE_METRICS = (*DEAL_METRICS, *REP_METRICS, "nps")
NONE_KEY = "none"


# ---------------------------------------------------------------- units


_units_lock = threading.Lock()
# key → (the frames the units were built from, the units, ramp: the reps left out)
_units_cache: OrderedDict[
    tuple[Any, ...], tuple[tuple[pd.DataFrame, ...], pd.DataFrame, np.ndarray | None]
] = OrderedDict()
_UNITS_CACHE_SIZE = 32


def _sources(metric: str) -> tuple[pd.DataFrame, ...]:
    """The frames a metric's units are built from. Each is the same object for as long as
    its data is unchanged (frames caches imported data on the data version and hands back
    the same people frame while the rows are the same), so cached units built from these
    very objects are current."""
    if metric in DEAL_METRICS:
        if metric == "days_in_stage":
            return (frames.opportunities(), frames.stage_entries())
        return (frames.opportunities(),)
    if metric == "retention_2y":
        return (frames.people(),)
    return (frames.opportunities(), frames.quotas(), frames.people())


def units(metric: str, definition: Definition, people: Iterable[int] | None = None) -> pd.DataFrame:
    """One row per unit the metric counts; see the module docstring of metrics_units.

    The units of everyone are built once per process and kept while the frames they come
    from are the same objects (see `_sources`), for the same as-of date and parameters;
    the units of a population (`people`) are those of everyone whose `owner_id` is in it —
    every unit depends on its own rep's data only, so this is exactly what building them
    for the population alone gives (the tests compare both). Survey units (NPS) are read
    every time. Callers get a shallow copy: with pandas' copy-on-write, changing it never
    changes the cached frame."""
    _check_metric(metric)
    frozen = frozenset(int(p) for p in people) if people is not None else None
    if metric == "nps":
        return _build_units(metric, definition, frozen)
    sources = _sources(metric)
    base = (
        connection.settings_dict["NAME"] or "",
        str(frames.as_of()),
        metric,
        tuple(sorted((k, repr(v)) for k, v in definition.params.items())),
    )
    everyone, left_out = _cached_units(
        (*base, None), sources, lambda: _everyone(metric, definition)
    )
    if frozen is None:
        result = everyone.copy(deep=False)
        result.attrs = dict(everyone.attrs)
        return result
    part, _left = _cached_units((*base, frozen), sources, lambda: _only(everyone, left_out, frozen))
    result = part.copy(deep=False)
    result.attrs = dict(part.attrs)
    return result


def _cached_units(
    key: tuple[Any, ...],
    sources: tuple[pd.DataFrame, ...],
    build: Any,
) -> tuple[pd.DataFrame, np.ndarray | None]:
    with _units_lock:
        entry = _units_cache.get(key)
        if entry is not None and all(a is b for a, b in zip(entry[0], sources, strict=True)):
            _units_cache.move_to_end(key)
            return entry[1], entry[2]
    frame, left_out = build()
    with _units_lock:
        _units_cache[key] = (sources, frame, left_out)
        while len(_units_cache) > _UNITS_CACHE_SIZE:
            _units_cache.popitem(last=False)
    return frame, left_out


def _everyone(metric: str, definition: Definition) -> tuple[pd.DataFrame, np.ndarray | None]:
    """The units of everyone, and for ramp time the ids of the reps left out for want of a
    quota (so that a population's count of them can be given)."""
    if metric == "ramp_time_days":
        frame, left_out = mu.ramp_units_with_excluded(definition, None)
        return frame, left_out
    return _build_units(metric, definition, None), None


def _only(
    everyone: pd.DataFrame, left_out: np.ndarray | None, people: frozenset[int]
) -> tuple[pd.DataFrame, np.ndarray | None]:
    owners = everyone["owner_id"].to_numpy(dtype=np.int64)
    part = everyone[mu.member_mask(owners, people)].reset_index(drop=True)
    part.attrs = dict(everyone.attrs)
    if left_out is not None:
        part.attrs["excluded_without_quota"] = int(mu.member_mask(left_out, people).sum())
    return part, None


def _build_units(
    metric: str, definition: Definition, people: frozenset[int] | None
) -> pd.DataFrame:
    """The units built from the frames for `people` alone (no cache)."""
    if metric in DEAL_METRICS:
        return mu.deal_units(metric, definition, people)
    if metric == "time_to_first_deal_days":
        return mu.first_deal_units(people)
    if metric == "ramp_time_days":
        return mu.ramp_units(definition, people)
    if metric == "retention_2y":
        return mu.retention_units(people)
    return mu.nps_units(people)


def _check_metric(metric: str) -> None:
    spec(metric)  # unknown metric: ValidationError
    if metric not in ENGINE_METRICS:
        raise ValidationError(
            _("%(metric)s is computed by the ROI calculator, not as a metric by group."),
            params={"metric": metric},
        )


# ---------------------------------------------------------------- estimates


def method_of(metric: str, definition: Definition) -> str:
    p = definition.params
    if metric == "win_rate":
        return "wilson" if p["value"] == "count" else "ratio_delta"
    if metric in ("deal_size", "days_in_stage"):
        return "t" if p["statistic"] == "mean" else "quantile_binomial"
    if metric == "sales_cycle_days":
        if p["population"] == "all":
            return "kaplan_meier"
        return "t" if p["statistic"] == "mean" else "quantile_binomial"
    if metric == "new_product":
        return "t" if p["measure"] == "deal_size" else "count"
    if metric in ("ramp_time_days", "time_to_first_deal_days"):
        return "kaplan_meier"
    if metric == "retention_2y":
        return "kaplan_meier_loglog"
    return "adjusted_wald"


def _horizon_days(definition: Definition) -> float:
    return float(definition.params["horizon_years"]) * mu.DAYS_PER_YEAR


def _sample(metric: str, frame: pd.DataFrame, definition: Definition) -> pd.DataFrame:
    """The rows the estimate is computed from (new_product's deal size: the won deals)."""
    if metric == "new_product" and definition.params["measure"] == "deal_size":
        return frame[frame["won"]]
    return frame


def _raw(metric: str, frame: pd.DataFrame, definition: Definition) -> stats.Estimate:
    p = definition.params
    confidence = float(p["confidence"])
    if metric == "win_rate":
        if p["value"] == "count":
            return stats.proportion(int(frame["won"].sum()), len(frame), confidence)
        amount = frame["amount"].to_numpy()
        return stats.ratio_of_sums(amount * frame["won"].to_numpy(), amount, confidence)
    if metric in ("deal_size", "days_in_stage") or (
        metric == "sales_cycle_days" and p["population"] != "all"
    ):
        column = "amount" if metric == "deal_size" else "duration"
        values = frame[column].to_numpy()
        if p["statistic"] == "mean":
            return stats.mean(values, confidence)
        return stats.median(values, confidence)
    if metric == "new_product":
        if p["measure"] == "pipeline":
            return stats.Estimate(float(len(frame)), None, None, "count")
        if p["measure"] == "won":
            return stats.Estimate(float(frame["won"].sum()), None, None, "count")
        return stats.mean(frame["amount"].to_numpy(), confidence)
    if metric in ("sales_cycle_days", "ramp_time_days", "time_to_first_deal_days"):
        return stats.km_median(
            frame["duration"].to_numpy(), frame["observed"].to_numpy(), confidence
        )
    if metric == "retention_2y":
        return stats.km_survival_at(
            frame["duration"].to_numpy(),
            frame["observed"].to_numpy(),
            _horizon_days(definition),
            confidence,
        )
    return stats.nps(frame["score"].tolist(), min_n=int(p["min_n"]), confidence=confidence)


def _extra(metric: str, frame: pd.DataFrame, definition: Definition) -> dict[str, Any]:
    km = metric in SURVIVAL_METRICS or (
        metric == "sales_cycle_days" and definition.params["population"] == "all"
    )
    if km and "observed" in frame.columns:
        events = int(frame["observed"].sum())
        return {"events": events, "censored": len(frame) - events}
    if metric == "win_rate":
        return {"won": int(frame["won"].sum())}
    return {}


def _check_sample(metric: str, definition: Definition) -> None:
    p = definition.params
    if metric == "sales_cycle_days" and p["population"] == "all" and p["statistic"] == "mean":
        raise ValidationError(
            {
                "statistic": _(
                    "The mean cannot be estimated with open deals censored; use the median "
                    "or the population won or closed."
                )
            }
        )


def estimate(
    metric: str, units: pd.DataFrame, definition: Definition, key: str = "all", label: str = ""
) -> ResultRow:
    """The estimate with n and interval for these units (any subset of `units(...)`)."""
    _check_sample(metric, definition)
    sample = _sample(metric, units, definition)
    n = len(sample)
    method = method_of(metric, definition)
    extra = _extra(metric, sample, definition)
    label = label or (str(_("All")) if key == "all" else key)
    min_n = int(definition.params["min_n"])
    counting = method == "count"
    if n < min_n and not counting:
        return ResultRow(key, label, n, None, None, None, method, insufficient=True, extra=extra)
    result = _raw(metric, sample, definition)
    if result.estimate is None and method == "kaplan_meier":
        extra["not_reached"] = True  # fewer than half have had the event
    if result.estimate is None and method == "kaplan_meier_loglog":
        extra["beyond_follow_up"] = True  # nobody was followed for the whole horizon
    return ResultRow(
        key, label, n, result.estimate, result.low, result.high, result.method, extra=extra
    )


def point(metric: str, units: pd.DataFrame, definition: Definition) -> float | None:
    """The estimate alone (no interval, no min_n check): for bootstraps over reps."""
    sample = _sample(metric, units, definition)
    if len(sample) == 0:
        return None
    p = definition.params
    if metric == "win_rate":
        if p["value"] == "count":
            return float(sample["won"].mean())
        amount = sample["amount"].to_numpy()
        total = amount.sum()
        return float((amount * sample["won"].to_numpy()).sum() / total) if total else None
    if metric in ("deal_size", "days_in_stage") or (
        metric == "sales_cycle_days" and p["population"] != "all"
    ):
        values = sample["amount" if metric == "deal_size" else "duration"].to_numpy()
        return float(values.mean() if p["statistic"] == "mean" else np.median(values))
    if metric == "new_product" and p["measure"] != "deal_size":
        return float(len(sample) if p["measure"] == "pipeline" else sample["won"].sum())
    if metric == "new_product":
        return float(sample["amount"].mean())
    if metric == "nps":
        scores = sample["score"].to_numpy()
        return float(100 * ((scores >= 9).mean() - (scores <= 6).mean()))
    # Kaplan-Meier metrics: the library fit is the fast path too.
    confidence = float(p["confidence"])
    if metric == "retention_2y":
        return stats.km_survival_at(
            sample["duration"].to_numpy(),
            sample["observed"].to_numpy(),
            _horizon_days(definition),
            confidence,
        ).estimate
    return stats.km_median(
        sample["duration"].to_numpy(), sample["observed"].to_numpy(), confidence
    ).estimate


# ---------------------------------------------------------------- dimensions


def _spread(codes: np.ndarray, names: np.ndarray, index: pd.Index) -> pd.Series:
    """Keys for many units from the key of each of a few distinct values: `codes` index
    `names` (which may repeat). A categorical Series, so grouping a million units by it
    costs no string work."""
    name_codes, categories = pd.factorize(np.asarray(names, dtype=object))
    unit_codes = name_codes[codes] if len(codes) else np.array([], dtype=np.int64)
    keys = pd.Categorical.from_codes(unit_codes, categories=pd.Index(categories, dtype=object))
    return pd.Series(keys, index=index)


def _quarter_keys(when: pd.Series) -> pd.Series:
    """'2026-Q1' for every date, computed on integer quarter numbers (fast over a million
    rows); missing dates get NONE_KEY."""
    stamps = when.to_numpy(dtype="datetime64[s]")
    missing = np.isnat(stamps)
    quarter = np.where(missing, -1, stamps.astype("datetime64[M]").astype("int64") // 3)
    codes, uniques = pd.factorize(quarter)
    names = np.array(
        [NONE_KEY if q < 0 else f"{1970 + int(q) // 4}-Q{int(q) % 4 + 1}" for q in uniques],
        dtype=object,
    )
    return _spread(codes, names, when.index)


def quarter_label(key: str) -> str:
    return key.replace("-", " ") if key != NONE_KEY else str(_("No date"))


def default_program_id() -> int | None:
    """The most recent onboarding program that anyone has completed."""
    from verity.learning.models import Program, ProgramKind

    program = (
        Program.objects.filter(kind=ProgramKind.ONBOARDING, enrollments__completed_at__isnull=False)
        .order_by("-created_at", "-pk")
        .values_list("pk", flat=True)
        .first()
    )
    return program


def _program(program_id: int | None) -> int:
    from verity.learning.models import Program

    if program_id is None:
        found = default_program_id()
        if found is None:
            raise ValidationError(
                {"program": _("No onboarding program has completions yet; choose a program.")}
            )
        return found
    if not Program.objects.filter(pk=program_id).exists():
        raise ValidationError({"program": _("There is no program %(id)s.") % {"id": program_id}})
    return program_id


def group_keys(
    metric: str, by: str, frame: pd.DataFrame, program_id: int | None = None
) -> tuple[pd.Series, dict[str, str]]:
    """The group key of every unit for dimension `by`, and a label for every key."""
    if by == "all":
        keys = _spread(np.zeros(len(frame), dtype=np.int64), np.array(["all"]), frame.index)
        return keys, {"all": str(_("All"))}
    if by == "quarter":
        keys = _quarter_keys(frame["when"])
        return keys, {k: quarter_label(k) for k in keys.cat.categories}
    if by == "product":
        if "product_id" not in frame.columns:
            raise ValidationError(
                {"by": _("%(metric)s cannot be broken down by product.") % {"metric": metric}}
            )
        names = frames.products().set_index("id")["name"]
        codes, products = pd.factorize(frame["product_id"].to_numpy(), use_na_sentinel=False)
        product_keys = np.array(
            [NONE_KEY if pd.isna(v) else str(int(v)) for v in products], dtype=object
        )
        labels = {
            k: (str(_("No product")) if k == NONE_KEY else str(names.get(int(k), k)))
            for k in product_keys
        }
        return _spread(codes, product_keys, frame.index), labels
    if by == "stage":
        keys = frame["stage"].astype(object)
        return keys, {k: k for k in pd.unique(keys)}
    if by == "program":
        completed = set(frames.completions(_program(program_id))["user_id"])
        keys = pd.Series(
            np.where(frame["owner_id"].isin(completed), "completed", "not_completed"),
            index=frame.index,
            dtype=object,
        )
        return keys, {"completed": str(_("Completed")), "not_completed": str(_("Not completed"))}
    if by not in ("rep", "team", "job_function", "hire_cohort"):
        raise ValidationError(
            {
                "by": _("Unknown dimension %(by)s; choose one of: %(choices)s")
                % {"by": by, "choices": ", ".join(dimensions_for(metric))}
            }
        )
    # Owner-based dimensions: work out the key of each distinct owner (thousands), then
    # spread it over the units (a million) by index.
    people = frames.people().set_index("id")
    codes, owners = pd.factorize(frame["owner_id"].to_numpy())
    owner_index = pd.Series(owners)
    if by == "rep":
        owner_keys = np.array([str(int(o)) for o in owners], dtype=object)
        names = people["name"]
        labels = {str(int(o)): str(names.get(int(o), o)) for o in owners}
    elif by == "team":
        team = people["team"].where(people["team"] != "", NONE_KEY)
        owner_keys = mu.lookup(owner_index, team).fillna(NONE_KEY).to_numpy(dtype=object)
        labels = {k: (str(_("No team")) if k == NONE_KEY else k) for k in set(owner_keys)}
    elif by == "job_function":
        function = people["job_function"].where(people["job_function"] != "", NONE_KEY)
        owner_keys = mu.lookup(owner_index, function).fillna(NONE_KEY).to_numpy(dtype=object)
        names = dict(JobFunction.choices)
        labels = {
            k: (str(_("No job function")) if k == NONE_KEY else str(names.get(k, k)))
            for k in set(owner_keys)
        }
    else:
        hire = mu.lookup(owner_index, people["hire_date"])
        owner_keys = _quarter_keys(hire).astype(object).to_numpy()
        labels = {
            k: (str(_("No hire date")) if k == NONE_KEY else quarter_label(k))
            for k in set(owner_keys)
        }
    return _spread(codes, owner_keys, frame.index), labels


def dimensions_for(metric: str) -> tuple[str, ...]:
    dims = tuple(d for d in DIMENSIONS if not (d == "product" and metric not in DEAL_METRICS))
    if metric == "days_in_stage":
        dims += ("stage",)
    if metric == "nps":
        dims = tuple(d for d in dims if d != "rep")
    return dims


def _sort_rows(by: str, rows: list[ResultRow]) -> list[ResultRow]:
    def order(row: ResultRow) -> tuple[Any, ...]:
        last = row.key == NONE_KEY
        if by in ("quarter", "hire_cohort"):
            return (last, row.key)
        if by == "program":
            return (row.key != "completed",)
        return (last, row.label.casefold())

    return sorted(rows, key=order)


# ---------------------------------------------------------------- compute


def _parse_date(value: date | str | None, name: str) -> pd.Timestamp | None:
    if value is None or value == "":
        return None
    try:
        stamp = pd.Timestamp(value)
    except (TypeError, ValueError):
        raise ValidationError(
            {name: _("%(value)s is not a date (use YYYY-MM-DD).") % {"value": value}}
        ) from None
    if stamp is pd.NaT:
        raise ValidationError({name: _("%(value)s is not a date.") % {"value": value}})
    return stamp.tz_localize(None) if stamp.tzinfo else stamp


def window(
    frame: pd.DataFrame, date_from: date | str | None, date_to: date | str | None
) -> pd.DataFrame:
    """Units whose `when` falls within [date_from, date_to] (both inclusive days)."""
    start = _parse_date(date_from, "from")
    end = _parse_date(date_to, "to")
    if start is not None and end is not None and end < start:
        raise ValidationError({"to": _("The end date is before the start date.")})
    mask = pd.Series(True, index=frame.index)
    if start is not None:
        mask &= frame["when"] >= start
    if end is not None:
        mask &= frame["when"] < end + pd.Timedelta(days=1)
    return frame[mask]


def compute(
    metric: str,
    by: str = "all",
    *,
    date_from: date | str | None = None,
    date_to: date | str | None = None,
    overrides: dict[str, Any] | None = None,
    program_id: int | None = None,
    people: Iterable[int] | None = None,
) -> MetricResult:
    """The metric for every group of dimension `by`, with the definition in force (plus
    `overrides`, which are validated: unknown or non-overridable names and bad values raise
    ValidationError naming the parameter)."""
    _check_metric(metric)
    if by not in dimensions_for(metric):
        if metric == "nps" and by == "rep":
            raise ValidationError(
                {"by": _("Internal NPS is anonymous and is never shown per person.")}
            )
        raise ValidationError(
            {
                "by": _("%(metric)s cannot be grouped by %(by)s; choose one of: %(choices)s")
                % {"metric": metric, "by": by, "choices": ", ".join(dimensions_for(metric))}
            }
        )
    cleaned = clean_params(metric, overrides or {}, only_overridable=True)
    definition = in_force(metric, cleaned)
    _check_sample(metric, definition)
    frame = window(units(metric, definition, people), date_from, date_to)
    keys, labels = group_keys(metric, by, frame, program_id)
    rows = _estimate_groups(metric, frame, keys, labels, definition, by)
    if not rows and by == "all":
        rows = [estimate(metric, frame, definition, "all", labels["all"])]
    excluded = frame.attrs.get("excluded_without_quota")
    if excluded:
        rows = [
            ResultRow(**{**r.__dict__, "extra": {**r.extra, "excluded_without_quota": excluded}})
            for r in rows
        ]
    return MetricResult(
        metric=metric,
        by=by,
        definition=definition,
        unit=spec(metric).unit,
        rows=_sort_rows(by, rows),
        date_from=_iso(date_from),
        date_to=_iso(date_to),
    )


def _iso(value: date | str | None) -> str | None:
    stamp = _parse_date(value, "date")
    return stamp.date().isoformat() if stamp is not None else None


def _estimate_groups(
    metric: str,
    frame: pd.DataFrame,
    keys: pd.Series,
    labels: dict[str, str],
    definition: Definition,
    by: str,
) -> list[ResultRow]:
    fast = _fast_groups(metric, frame, keys, labels, definition)
    if fast is not None:
        return fast
    # Survival metrics and NPS: one library call per group big enough to estimate; the
    # groups below min_n (e.g. one unit per rep) are answered without a call. Counts are
    # exact, never "insufficient": every non-empty group is counted.
    method = method_of(metric, definition)
    min_n = 1 if method == "count" else int(definition.params["min_n"])
    codes, uniques = _group_codes(keys)
    counts = np.bincount(codes, minlength=len(uniques))
    events = (
        np.bincount(codes, weights=frame["observed"].to_numpy(dtype=float), minlength=len(uniques))
        if "observed" in frame.columns and metric != "nps"
        else None
    )
    rows = []
    big = [i for i in range(len(uniques)) if counts[i] >= min_n]
    for i in range(len(uniques)):
        if counts[i] >= min_n or counts[i] == 0:
            continue
        key = str(uniques[i])
        extra = {}
        if events is not None:
            extra = {"events": int(events[i]), "censored": int(counts[i] - events[i])}
        rows.append(
            ResultRow(
                key,
                labels.get(key, key),
                int(counts[i]),
                None,
                None,
                None,
                method,
                insufficient=True,
                extra=extra,
            )
        )
    if big:
        order = np.argsort(codes, kind="stable")
        bounds = np.concatenate([[0], np.cumsum(np.bincount(codes[order], minlength=len(uniques)))])
        for i in big:
            part = frame.iloc[order[bounds[i] : bounds[i + 1]]]
            key = str(uniques[i])
            rows.append(estimate(metric, part, definition, key, labels.get(key, key)))
    return rows


def _group_codes(keys: pd.Series) -> tuple[np.ndarray, pd.Index]:
    """Integer group codes 0..k-1 and the key of each code (categorical keys: their own
    codes, no hashing of a million strings)."""
    if isinstance(keys.dtype, pd.CategoricalDtype):
        return keys.cat.codes.to_numpy(dtype=np.int64), keys.cat.categories
    codes, uniques = pd.factorize(keys.to_numpy())
    return codes, pd.Index(uniques)


def _fast_groups(
    metric: str,
    frame: pd.DataFrame,
    keys: pd.Series,
    labels: dict[str, str],
    definition: Definition,
) -> list[ResultRow] | None:
    """Vectorised estimates for the deal metrics: thousands of groups in one pass of
    numpy `bincount` sums (and one sort for medians). The tests check each group against
    `estimate` on that group alone."""
    p = definition.params
    method = method_of(metric, definition)
    confidence = float(p["confidence"])
    min_n = int(p["min_n"])
    if method not in ("wilson", "ratio_delta", "t", "quantile_binomial", "kaplan_meier"):
        return None
    sample = _sample(metric, frame, definition)
    if len(sample) == 0:
        return []
    codes, index = _group_codes(keys if len(sample) == len(frame) else keys.loc[sample.index])
    size = len(index)

    def total(values: np.ndarray) -> np.ndarray:
        return np.bincount(codes, weights=values, minlength=size)

    n = np.bincount(codes, minlength=size)
    won: np.ndarray | None = None
    events: np.ndarray | None = None
    if method == "kaplan_meier":
        observed = sample["observed"].to_numpy(dtype=bool)
        events = total(observed.astype(float))
        est, low, high = stats.km_median_grouped(
            sample["duration"].to_numpy(dtype=float), observed, codes, size, confidence
        )
    elif method == "wilson":
        won = total(sample["won"].to_numpy(dtype=float))
        est, low, high = stats.proportion_grouped(won, n, confidence)
    elif method == "ratio_delta":
        amount = sample["amount"].to_numpy(dtype=float)
        is_won = sample["won"].to_numpy(dtype=float)
        won_amount = amount * is_won
        won = total(is_won)
        sum_y, sum_x = total(won_amount), total(amount)
        with np.errstate(invalid="ignore", divide="ignore"):
            ratio = sum_y / sum_x
        rss = stats.ratio_residual_ss(
            total(won_amount**2), total(won_amount * amount), total(amount**2), ratio
        )
        est, low, high = stats.ratio_of_sums_grouped(sum_y, sum_x, rss, n, confidence)
    else:
        column = "amount" if metric in ("deal_size", "new_product") else "duration"
        values = sample[column].to_numpy(dtype=float)
        if method == "t":
            est, low, high = stats.mean_grouped(total(values), total(values**2), n, confidence)
        else:
            est, low, high = stats.median_grouped_codes(values, codes, size, confidence)
    rows = []
    for i, key in enumerate(index):
        count = int(n[i])
        if count == 0:
            continue  # a category without units in this sample
        skey = str(key)
        extra: dict[str, Any] = {"won": int(won[i])} if won is not None else {}
        if events is not None:
            extra = {"events": int(events[i]), "censored": count - int(events[i])}
        if count < min_n:
            rows.append(
                ResultRow(
                    skey,
                    labels.get(skey, skey),
                    count,
                    None,
                    None,
                    None,
                    method,
                    insufficient=True,
                    extra=extra,
                )
            )
            continue
        if events is not None and np.isnan(est[i]):
            extra["not_reached"] = True
        rows.append(
            ResultRow(
                skey,
                labels.get(skey, skey),
                count,
                _num(est[i]),
                _num(low[i]),
                _num(high[i]),
                method,
                extra=extra,
            )
        )
    return rows


def _num(value: Any) -> float | None:
    return stats._num(value)
