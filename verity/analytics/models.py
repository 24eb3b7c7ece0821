"""CRM and HR facts imported for impact analytics, the metric definitions in force, and the
record of every import.

People (reps) are ordinary users: the HR import fills `team`, `hire_date`,
`termination_date` and `termination_type` on `accounts.User`.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class Outcome(models.TextChoices):
    OPEN = "open", _("Open")
    WON = "won", _("Won")
    LOST = "lost", _("Lost")


class ImportKind(models.TextChoices):
    PEOPLE = "people", _("People")
    OPPORTUNITIES = "opportunities", _("Opportunities")
    STAGE_HISTORY = "stage-history", _("Stage history")
    QUOTAS = "quotas", _("Quotas")


class Product(models.Model):
    """A product deals are sold for. `launch_date` starts the new-product metrics."""

    name = models.CharField(_("name"), max_length=200, unique=True)
    launch_date = models.DateField(_("launch date"), null=True, blank=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("product")
        verbose_name_plural = _("products")

    def __str__(self) -> str:
        return self.name


class ProductAlias(models.Model):
    """Another spelling of a product in CRM exports ("Northwind Fcst" → "Northwind
    Forecasting"). `alias` is stored case-folded and stripped."""

    alias = models.CharField(_("alias"), max_length=200, unique=True)
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="aliases")

    class Meta:
        ordering = ["alias"]

    def __str__(self) -> str:
        return f"{self.alias} → {self.product}"


class StageMapping(models.Model):
    """How a CRM stage name maps to open / won / lost, beyond the built-in defaults
    (Salesforce "Closed Won"/"Closed Lost", HubSpot "closedwon"/"closedlost"). `stage` is
    stored case-folded and stripped."""

    stage = models.CharField(_("stage"), max_length=100, unique=True)
    outcome = models.CharField(_("outcome"), max_length=4, choices=Outcome.choices)

    class Meta:
        ordering = ["stage"]

    def __str__(self) -> str:
        return f"{self.stage} → {self.outcome}"


class Opportunity(models.Model):
    """One CRM deal. `external_id` is the CRM's id: re-importing it updates the row."""

    external_id = models.CharField(_("id"), max_length=100, unique=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="opportunities"
    )
    account = models.CharField(_("account"), max_length=255, blank=True)
    product = models.ForeignKey(
        Product, null=True, blank=True, on_delete=models.SET_NULL, related_name="opportunities"
    )
    amount = models.DecimalField(_("amount"), max_digits=16, decimal_places=2, default=0)
    stage = models.CharField(_("stage"), max_length=100)
    outcome = models.CharField(_("outcome"), max_length=4, choices=Outcome.choices)
    created_date = models.DateField(_("created"))
    # For open deals this is the expected close date (if the CRM has one); analytics treat
    # open deals as censored at the as-of date whatever it says.
    close_date = models.DateField(_("close date"), null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [
            models.Index(fields=["owner", "close_date"]),
            models.Index(fields=["outcome", "close_date"]),
            models.Index(fields=["product", "created_date"]),
        ]
        verbose_name = _("opportunity")
        verbose_name_plural = _("opportunities")

    def __str__(self) -> str:
        return self.external_id


class StageEntry(models.Model):
    """An opportunity entered `stage` at `entered_at` (from the CRM's stage history)."""

    opportunity = models.ForeignKey(
        Opportunity, on_delete=models.CASCADE, related_name="stage_entries"
    )
    stage = models.CharField(_("stage"), max_length=100)
    entered_at = models.DateTimeField(_("entered at"))

    class Meta:
        ordering = ["opportunity", "entered_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["opportunity", "stage", "entered_at"], name="unique_stage_entry"
            )
        ]

    def __str__(self) -> str:
        return f"{self.opportunity_id}: {self.stage} @ {self.entered_at:%Y-%m-%d}"


class Quota(models.Model):
    """A rep's quota for the month starting `period_start` (always the 1st)."""

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="quotas"
    )
    period_start = models.DateField(_("period start"))
    amount = models.DecimalField(_("amount"), max_digits=16, decimal_places=2)

    class Meta:
        ordering = ["owner", "period_start"]
        constraints = [
            models.UniqueConstraint(fields=["owner", "period_start"], name="unique_quota_period")
        ]

    def __str__(self) -> str:
        return f"{self.owner_id} {self.period_start}: {self.amount}"


class MappingPreset(models.Model):
    """A saved column mapping (target field → source column) for one import kind."""

    kind = models.CharField(_("kind"), max_length=20, choices=ImportKind.choices)
    name = models.CharField(_("name"), max_length=100)
    mapping = models.JSONField(default=dict)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["kind", "name"]
        constraints = [
            models.UniqueConstraint(fields=["kind", "name"], name="unique_mapping_preset")
        ]

    def __str__(self) -> str:
        return f"{self.kind}: {self.name}"


class ImportStatus(models.TextChoices):
    UPLOADED = "uploaded", _("Uploaded")
    DONE = "done", _("Imported")
    FAILED = "failed", _("Failed")


class ImportRun(models.Model):
    """One import (upload, CLI or API), kept as the audit trail of where the numbers came
    from. An uploaded file waits in var/imports/ between preview and import."""

    kind = models.CharField(_("kind"), max_length=20, choices=ImportKind.choices)
    source = models.CharField(max_length=10)  # "upload", "cli" or "api"
    file_name = models.CharField(_("file"), max_length=255, blank=True)
    stored_path = models.CharField(max_length=500, blank=True)
    status = models.CharField(
        _("status"), max_length=10, choices=ImportStatus.choices, default=ImportStatus.UPLOADED
    )
    options = models.JSONField(default=dict)  # mapping, stage map, skip_invalid
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    rows_total = models.PositiveIntegerField(default=0)
    created_count = models.PositiveIntegerField(default=0)
    updated_count = models.PositiveIntegerField(default=0)
    skipped_count = models.PositiveIntegerField(default=0)
    errors = models.JSONField(default=list)  # the first errors: {"row", "column", "message"}
    error_count = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.kind} import {self.pk}"


class MetricDefinition(models.Model):
    """One version of a metric's definition. The highest version of a metric is in force;
    older ones are kept so a number can always be traced to the rules that produced it."""

    metric = models.CharField(max_length=40)
    version = models.PositiveIntegerField()
    params = models.JSONField(default=dict)
    note = models.CharField(_("note"), max_length=300, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["metric", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["metric", "version"], name="unique_metric_version")
        ]

    def __str__(self) -> str:
        return f"{self.metric} v{self.version}"


class DataVersion(models.Model):
    """A single row whose counter goes up whenever imported data changes, so computed
    frames and results can be cached until then."""

    counter = models.PositiveBigIntegerField(default=0)
    changed_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"data version {self.counter}"
