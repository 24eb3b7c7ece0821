"""Forms of the import pages: the upload, the column mapping (built from the file's header),
stage mappings and products."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from verity.analytics import imports
from verity.analytics.imports_kinds import FIELDS
from verity.analytics.models import ImportKind, MappingPreset, Outcome, Product

KIND_HELP = {
    ImportKind.PEOPLE: "email, name, job_function, team, manager_email, hire_date, "
    "termination_date, termination_type",
    ImportKind.OPPORTUNITIES: "id, owner, account, product, amount, stage, created_date, "
    "close_date",
    ImportKind.STAGE_HISTORY: "opportunity_id, stage, entered_at",
    ImportKind.QUOTAS: "owner, period_start, amount",
}


class UploadForm(forms.Form):
    kind = forms.ChoiceField(label=_("The file contains"), choices=ImportKind.choices)
    file = forms.FileField(
        label=_("CSV file"),
        help_text=_(
            "Exported from Salesforce, HubSpot or a spreadsheet: UTF-8, with a header row."
        ),
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,text/csv"}),
    )

    def clean_file(self) -> Any:
        upload = self.cleaned_data["file"]
        limit = imports.max_upload_bytes()
        if upload.size > limit:
            raise forms.ValidationError(
                _("The file is %(size)s MB; the limit is %(limit)s MB."),
                params={"size": upload.size // (1024 * 1024), "limit": limit // (1024 * 1024)},
            )
        return upload


NOT_IN_FILE = ""


class MappingForm(forms.Form):
    """One select per field of the import (which column it comes from), the outcome of each
    stage the file uses that Verity does not know, what each unknown product name is, and
    the run's options."""

    skip_invalid = forms.BooleanField(
        label=_("Import the valid rows and skip the invalid ones"), required=False
    )
    product_aliases = forms.CharField(
        label=_("Other product spellings"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2, "placeholder": "Fcst = Northwind Forecasting"}),
        help_text=_(
            "One per line: spelling in the file = product name. Remembered for later imports."
        ),
    )
    save_preset = forms.CharField(
        label=_("Save this mapping as"),
        required=False,
        max_length=100,
        help_text=_("Optional: a name to reuse the mapping for the next export of this report."),
    )

    def __init__(
        self,
        *args: Any,
        kind: str,
        headers: list[str],
        stages: list[tuple[str, int]],
        products: list[tuple[str, int]],
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.kind = kind
        self.stage_names = [name for name, _count in stages]
        self.product_names = [name for name, _count in products]
        columns = [(NOT_IN_FILE, _("— not in the file —")), *[(h, h) for h in headers if h]]
        self.target_names = []
        for target in FIELDS[kind]:
            name = f"map_{target.name}"
            self.fields[name] = forms.ChoiceField(
                label=str(target.label),
                choices=columns,
                required=target.required,
                help_text=target.name,
            )
            self.target_names.append(name)
        outcomes = [(NOT_IN_FILE, _("— choose —")), *Outcome.choices]
        for i, (stage, count) in enumerate(stages):
            self.fields[f"stage_{i}"] = forms.ChoiceField(
                label=stage, choices=outcomes, required=False, help_text=str(count)
            )
        products_choices = [
            (NOT_IN_FILE, _("a new product")),
            *[(p.name, p.name) for p in Product.objects.all()],
        ]
        for i, (product, count) in enumerate(products):
            self.fields[f"product_{i}"] = forms.ChoiceField(
                label=product, choices=products_choices, required=False, help_text=str(count)
            )

    def mapping_fields(self) -> list[forms.BoundField]:
        return [self[name] for name in self.target_names]

    def stage_fields(self) -> list[forms.BoundField]:
        return [self[f"stage_{i}"] for i in range(len(self.stage_names))]

    def product_fields(self) -> list[forms.BoundField]:
        return [self[f"product_{i}"] for i in range(len(self.product_names))]

    def clean_product_aliases(self) -> dict[str, str]:
        try:
            return imports.parse_product_aliases([self.cleaned_data["product_aliases"]])
        except forms.ValidationError as exc:
            raise forms.ValidationError(exc.messages) from None

    def options(self, *, dry_run: bool) -> imports.ImportOptions:
        data = self.cleaned_data
        mapping = {name.removeprefix("map_"): data[name] for name in self.target_names}
        stage_map = {
            stage: data[f"stage_{i}"]
            for i, stage in enumerate(self.stage_names)
            if data.get(f"stage_{i}")
        }
        aliases = dict(data["product_aliases"])
        for i, product in enumerate(self.product_names):
            if data.get(f"product_{i}"):
                aliases[product] = data[f"product_{i}"]
        return imports.ImportOptions(
            mapping=mapping,
            stage_map=stage_map,
            product_aliases=aliases,
            skip_invalid=data["skip_invalid"],
            dry_run=dry_run,
        )


def preset_choices(kind: str) -> list[tuple[str, Any]]:
    return [
        ("", _("— guessed from the header —")),
        *[(p.name, p.name) for p in MappingPreset.objects.filter(kind=kind)],
    ]


class StageMappingForm(forms.Form):
    stage = forms.CharField(label=_("Stage as the CRM names it"), max_length=100)
    outcome = forms.ChoiceField(label=_("Counts as"), choices=Outcome.choices)


class ProductAliasForm(forms.Form):
    product = forms.ModelChoiceField(label=_("Product"), queryset=Product.objects.all())
    alias = forms.CharField(label=_("Other spelling"), max_length=200)


class LaunchDateForm(forms.Form):
    launch_date = forms.DateField(
        label=_("Launch date"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
