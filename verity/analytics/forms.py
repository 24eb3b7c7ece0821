"""Forms of the analytics pages. The filters are GET forms (a filtered page is a URL to share);
bad filter values fall back to the defaults rather than failing the page. Definition and
assumption fields are generated from the metric's parameters in definitions.py, and
validated by the same `Param.clean` the engine and the API use."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from verity.analytics import definitions

OVERVIEW_METRICS = ("win_rate", "sales_cycle_days", "deal_size", "time_to_first_deal_days")
IMPACT_METRICS = (
    "time_to_first_deal_days",
    "win_rate",
    "deal_size",
    "sales_cycle_days",
    "ramp_time_days",
    "retention_2y",
)

BREAKDOWNS = [
    ("team", _("Team")),
    ("job_function", _("Job function")),
    ("hire_cohort", _("Hire cohort")),
]
RETENTION_BREAKDOWNS = [("team", _("Team")), ("hire_cohort", _("Hire cohort"))]


def metric_choices(keys: tuple[str, ...]) -> list[tuple[str, Any]]:
    return [(key, definitions.METRICS[key].label) for key in keys]


class FilterForm(forms.Form):
    """A GET form whose values are read with `value(name)`: the cleaned value, or the
    field's initial when the parameter is missing or wrong (a stale link still opens)."""

    def __init__(self, data: Any = None, **kwargs: Any) -> None:
        # An empty query is not an error: the form renders with the defaults selected.
        super().__init__(data if data else None, **kwargs)
        for field in self.fields.values():
            field.required = False

    def value(self, name: str) -> Any:
        if self.is_bound:
            self.is_valid()
            value = self.cleaned_data.get(name)
            if value not in (None, ""):
                return value
        return self.fields[name].initial


class OverviewForm(FilterForm):
    by = forms.ChoiceField(label=_("Compare by"), choices=BREAKDOWNS, initial="team")
    metric = forms.ChoiceField(
        label=_("Metric"), choices=metric_choices(OVERVIEW_METRICS), initial="win_rate"
    )
    quarters = forms.TypedChoiceField(
        label=_("Quarters"),
        choices=[(n, n) for n in (4, 6, 8)],
        coerce=int,
        initial=6,
    )


class PeopleForm(FilterForm):
    q = forms.CharField(label=_("Name"), max_length=100, initial="")
    team = forms.ChoiceField(label=_("Team"), initial="")

    def __init__(self, data: Any = None, *, teams: list[str], **kwargs: Any) -> None:
        super().__init__(data, **kwargs)
        self.fields["team"].choices = [("", _("All teams")), *[(t, t) for t in teams]]  # type: ignore[attr-defined]


class ProgramForm(FilterForm):
    """A program picked from the ones the page offers (the first one by default)."""

    program = forms.TypedChoiceField(label=_("Onboarding program"), coerce=int)

    def __init__(self, data: Any = None, *, programs: list[tuple[int, str]], **kwargs: Any):
        super().__init__(data, **kwargs)
        field = self.fields["program"]
        field.choices = programs  # type: ignore[attr-defined]
        field.initial = programs[0][0] if programs else None


class ImpactForm(ProgramForm):
    program = forms.TypedChoiceField(label=_("Program"), coerce=int)
    metric = forms.ChoiceField(
        label=_("Metric"), choices=metric_choices(IMPACT_METRICS), initial=IMPACT_METRICS[0]
    )


class RetentionForm(ProgramForm):
    by = forms.ChoiceField(label=_("Compare by"), choices=RETENTION_BREAKDOWNS, initial="team")
    field_order = ["by", "program"]


def _param_field(param: definitions.Param, initial: Any) -> forms.Field:
    if param.choices:
        return forms.ChoiceField(
            label=param.label, choices=[(c, c) for c in param.choices], initial=initial
        )
    if isinstance(param.default, bool):
        return forms.BooleanField(label=param.label, required=False, initial=initial)
    attrs = {"inputmode": "decimal"}
    if isinstance(param.default, int):
        return forms.IntegerField(
            label=param.label, initial=initial, widget=forms.NumberInput(attrs=attrs)
        )
    step = "any"
    return forms.FloatField(
        label=param.label, initial=initial, widget=forms.NumberInput(attrs={**attrs, "step": step})
    )


class ParamsForm(forms.Form):
    """One field per parameter of `metric` (or only `names`), starting from `initial`
    (the definition in force). Each value is checked by the parameter's own rule."""

    def __init__(
        self,
        data: Any = None,
        *,
        metric: str,
        initial: dict[str, Any],
        names: tuple[str, ...] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(data, **kwargs)
        self.metric = metric
        self.params = {
            name: p
            for name, p in definitions.all_params(metric).items()
            if names is None or name in names
        }
        for name, param in self.params.items():
            self.fields[name] = _param_field(param, initial.get(name, param.default))

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        for name, param in self.params.items():
            if name not in cleaned:
                continue
            try:
                cleaned[name] = param.clean(name, cleaned[name])
            except ValidationError as error:
                self.add_error(name, error)
        return cleaned

    def values(self) -> dict[str, Any]:
        """The cleaned parameters, or the initial ones when the form is unbound or wrong."""
        if self.is_bound and self.is_valid():
            return {name: self.cleaned_data[name] for name in self.params}
        return {name: self.fields[name].initial for name in self.params}


class DefinitionForm(ParamsForm):
    note = forms.CharField(
        label=_("What changed and why"),
        max_length=300,
        required=True,
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )

    def __init__(self, data: Any = None, *, metric: str, initial: dict[str, Any], **kwargs: Any):
        super().__init__(data, metric=metric, initial=initial, **kwargs)
        # The note goes last, after the parameters.
        self.fields["note"] = self.fields.pop("note")
