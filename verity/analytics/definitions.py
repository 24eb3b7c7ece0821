"""Metric definitions: what each metric means, its default parameters, and the versioned
definition in force.

Every number Verity shows names the definition (and version) that produced it. Admins edit a
definition by saving a new version; old versions stay, so a figure in last quarter's slide
can still be explained. Query-time overrides (the API's `statistic=median`) are applied on
top of the version in force and reported with it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils.translation import gettext_lazy as _

from verity.accounts.models import User
from verity.analytics.models import MetricDefinition


@dataclass(frozen=True)
class Param:
    """One parameter of a definition: its default and what values it accepts."""

    default: Any
    label: Any  # lazy translated string
    choices: tuple[str, ...] = ()
    minimum: float | None = None
    maximum: float | None = None
    overridable: bool = False  # may a query override it (API query parameter, view control)

    def clean(self, name: str, value: Any) -> Any:
        if self.choices:
            if value not in self.choices:
                raise ValidationError(
                    _("%(name)s must be one of: %(choices)s"),
                    params={"name": name, "choices": ", ".join(self.choices)},
                )
            return value
        if isinstance(self.default, bool):
            if isinstance(value, str):
                value = value.strip().lower() in {"1", "true", "yes", "on"}
            return bool(value)
        if isinstance(self.default, int | float):
            try:
                number = float(value)
            except (TypeError, ValueError):
                raise ValidationError(
                    _("%(name)s must be a number"), params={"name": name}
                ) from None
            if number != number:  # NaN
                raise ValidationError(_("%(name)s must be a number"), params={"name": name})
            if self.minimum is not None and number < self.minimum:
                raise ValidationError(
                    _("%(name)s must be at least %(min)s"),
                    params={"name": name, "min": self.minimum},
                )
            if self.maximum is not None and number > self.maximum:
                raise ValidationError(
                    _("%(name)s must be at most %(max)s"),
                    params={"name": name, "max": self.maximum},
                )
            return int(number) if isinstance(self.default, int) else number
        return str(value)


@dataclass(frozen=True)
class MetricSpec:
    key: str
    label: Any
    unit: str  # "days", "ratio", "amount", "score", "count", "months"
    description: Any
    params: dict[str, Param] = field(default_factory=dict)


def _common() -> dict[str, Param]:
    """Parameters every metric has: the minimum n and the confidence level."""
    return {
        "min_n": Param(5, _("Minimum n (below it: insufficient data)"), minimum=1, maximum=1000),
        "confidence": Param(0.95, _("Confidence level"), minimum=0.5, maximum=0.999),
    }


START_EVENTS = ("hire_date",)

METRICS: dict[str, MetricSpec] = {
    spec.key: spec
    for spec in [
        MetricSpec(
            "ramp_time_days",
            _("Time to ramp"),
            "days",
            _(
                "Days from the start event to the first month in which the rep reaches the "
                "threshold share of quota and keeps it for the sustained number of months. "
                "Reps not yet ramped are censored (Kaplan–Meier), not dropped."
            ),
            {
                "threshold": Param(0.8, _("Share of quota"), minimum=0.01, maximum=10),
                "sustain_periods": Param(2, _("Sustained for (months)"), minimum=1, maximum=24),
                "start_event": Param("hire_date", _("Start event"), choices=START_EVENTS),
            },
        ),
        MetricSpec(
            "time_to_first_deal_days",
            _("Time to first closed-won deal"),
            "days",
            _(
                "Days from the start event to the close date of the rep's first won deal. "
                "Reps without a won deal yet are censored (Kaplan–Meier)."
            ),
            {"start_event": Param("hire_date", _("Start event"), choices=START_EVENTS)},
        ),
        MetricSpec(
            "sales_cycle_days",
            _("Sales cycle length"),
            "days",
            _(
                "Days from created to close date. With the population 'all', open deals are "
                "censored at the as-of date (Kaplan–Meier median)."
            ),
            {
                "statistic": Param(
                    "median", _("Statistic"), choices=("median", "mean"), overridable=True
                ),
                "population": Param(
                    "won", _("Deals"), choices=("won", "closed", "all"), overridable=True
                ),
            },
        ),
        MetricSpec(
            "days_in_stage",
            _("Days in stage"),
            "days",
            _(
                "Days an opportunity spent in a stage, from the stage history: the latest "
                "stay or all stays added up."
            ),
            {
                "mode": Param(
                    "cumulative", _("Stays"), choices=("latest", "cumulative"), overridable=True
                ),
                "statistic": Param(
                    "median", _("Statistic"), choices=("median", "mean"), overridable=True
                ),
            },
        ),
        MetricSpec(
            "win_rate",
            _("Win rate"),
            "ratio",
            _("Won / (won + lost), by count or by amount. Open deals are excluded."),
            {
                "value": Param(
                    "count", _("Counted by"), choices=("count", "amount"), overridable=True
                )
            },
        ),
        MetricSpec(
            "deal_size",
            _("Deal size"),
            "amount",
            _("Amount of won deals: mean or median."),
            {
                "statistic": Param(
                    "mean", _("Statistic"), choices=("mean", "median"), overridable=True
                )
            },
        ),
        MetricSpec(
            "new_product",
            _("New-product results"),
            "count",
            _(
                "For a product since its launch date: deals in pipeline, won deals and the "
                "won deals' mean size."
            ),
            {
                "measure": Param(
                    "won", _("Measure"), choices=("pipeline", "won", "deal_size"), overridable=True
                )
            },
        ),
        MetricSpec(
            "retention_2y",
            _("Two-year retention"),
            "ratio",
            _(
                "Probability that tenure reaches the horizon (Kaplan–Meier); people still "
                "employed are censored at the as-of date."
            ),
            {"horizon_years": Param(2.0, _("Horizon (years)"), minimum=0.25, maximum=10)},
        ),
        MetricSpec(
            "nps",
            _("Internal NPS"),
            "score",
            _(
                "The share of 9–10 minus the share of 0–6 on the 0–10 recommend question of "
                "program surveys, with an adjusted-Wald interval; hidden below the minimum n."
            ),
            {},
        ),
        MetricSpec(
            "rep_ltv",
            _("Rep lifetime value and onboarding ROI"),
            "amount",
            _(
                "Σ survival(t) × (margin × bookings(t) − cost(t)) over the horizon, discounted "
                "monthly. ROI = (benefit − cost) / cost, where the benefit is the difference "
                "in lifetime value between reps who completed onboarding and those who did not."
            ),
            {
                "margin": Param(0.7, _("Gross margin on bookings"), minimum=0, maximum=1),
                "monthly_cost_per_rep": Param(
                    9000.0, _("Monthly cost per rep"), minimum=0, maximum=1e9
                ),
                "onboarding_cost_per_rep": Param(
                    3000.0, _("Onboarding cost per rep"), minimum=0, maximum=1e9
                ),
                "annual_discount_rate": Param(0.1, _("Annual discount rate"), minimum=0, maximum=1),
                "horizon_months": Param(36, _("Horizon (months)"), minimum=1, maximum=120),
            },
        ),
    ]
}


def spec(metric: str) -> MetricSpec:
    try:
        return METRICS[metric]
    except KeyError:
        raise ValidationError(_("Unknown metric %(metric)s"), params={"metric": metric}) from None


def all_params(metric: str) -> dict[str, Param]:
    params = _common()
    if metric == "nps":
        params["min_n"] = Param(
            settings.VERITY_NPS_MIN_N, params["min_n"].label, minimum=1, maximum=1000
        )
    params.update(spec(metric).params)
    return params


def defaults(metric: str) -> dict[str, Any]:
    return {name: p.default for name, p in all_params(metric).items()}


def clean_params(metric: str, values: dict[str, Any], only_overridable: bool = False) -> dict:
    """Validated parameters; unknown names and (with `only_overridable`) names a query may
    not override are errors, each naming the parameter."""
    known = all_params(metric)
    cleaned: dict[str, Any] = {}
    for name, value in values.items():
        param = known.get(name)
        if param is None or (only_overridable and not param.overridable):
            raise ValidationError(
                _("%(name)s is not a parameter of %(metric)s"),
                params={"name": name, "metric": metric},
            )
        cleaned[name] = param.clean(name, value)
    return cleaned


@dataclass(frozen=True)
class Definition:
    """The definition a result was computed with: stored version plus any overrides."""

    metric: str
    version: int
    params: dict[str, Any]
    overrides: dict[str, Any]

    @property
    def label(self) -> str:
        return str(spec(self.metric).label)

    @property
    def description(self) -> str:
        return str(spec(self.metric).description)

    def as_dict(self) -> dict[str, Any]:
        return {
            "metric": self.metric,
            "version": self.version,
            "label": self.label,
            "description": self.description,
            **self.params,
            "overrides": self.overrides,
        }


def in_force(metric: str, overrides: dict[str, Any] | None = None) -> Definition:
    """The highest stored version (or version 1 = the defaults, stored on first use), with
    `overrides` (already cleaned) on top."""
    spec(metric)
    stored = MetricDefinition.objects.filter(metric=metric).order_by("-version").first()
    if stored is None:
        stored = _store_first_version(metric)
    params = {**defaults(metric), **stored.params}
    overrides = overrides or {}
    return Definition(metric, stored.version, {**params, **overrides}, dict(overrides))


def _store_first_version(metric: str) -> MetricDefinition:
    try:
        with transaction.atomic():
            return MetricDefinition.objects.create(
                metric=metric, version=1, params=defaults(metric), note="Defaults"
            )
    except IntegrityError:  # another request stored it first
        return MetricDefinition.objects.get(metric=metric, version=1)


def save_version(user: User, metric: str, values: dict[str, Any], note: str = "") -> Definition:
    """Admins change a definition by storing a new version with the given parameters."""
    if not user.is_site_admin:
        raise PermissionDenied
    current = in_force(metric)
    params = {**current.params, **clean_params(metric, values)}
    for _attempt in range(3):  # two admins saving at once: the unique version decides
        latest = MetricDefinition.objects.filter(metric=metric).aggregate(v=Max("version"))["v"]
        try:
            with transaction.atomic():
                MetricDefinition.objects.create(
                    metric=metric,
                    version=(latest or 0) + 1,
                    params=params,
                    note=note[:300],
                    created_by=user,
                )
            break
        except IntegrityError:
            continue
    return in_force(metric)


def history(metric: str) -> list[MetricDefinition]:
    spec(metric)
    in_force(metric)
    return list(MetricDefinition.objects.filter(metric=metric).select_related("created_by"))
