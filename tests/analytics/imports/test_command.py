"""`verity analytics import KIND FILE` end to end through call_command."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from verity.analytics.models import ImportRun, MappingPreset, Opportunity, StageMapping

pytestmark = pytest.mark.django_db

HEADER = ["Opportunity ID", "Rep", "Deal Stage", "Created", "Closed", "Amount", "Product"]
ROWS = [
    ["C-1", "ann@example.com", "Signed", "2025-01-01", "2025-02-01", "100", "Fcst"],
    ["C-2", "Bob Rep", "Closed Lost", "2025-01-01", "2025-02-01", "200", "Forecasting"],
]


def call(*args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("analytics", "import", *args, "--no-progress", stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_import_with_map_stage_map_alias_and_preset(reps, write_csv) -> None:
    path = str(write_csv(HEADER, ROWS))
    out, _err = call(
        "opportunities",
        path,
        "--map",
        "owner=Rep",
        "--map",
        "created_date=Created",
        "--map",
        "close_date=Closed",
        "--stage-map",
        "Signed=won",
        "--product-alias",
        "Fcst=Forecasting",
        "--save-preset",
        "crm",
    )
    assert "2 created, 0 updated, 0 skipped" in out
    assert dict(Opportunity.objects.values_list("external_id", "outcome")) == {
        "C-1": "won",
        "C-2": "lost",
    }
    assert Opportunity.objects.values("product").distinct().count() == 1
    assert StageMapping.objects.get(stage="signed").outcome == "won"
    assert MappingPreset.objects.get(kind="opportunities", name="crm").mapping["owner"] == "Rep"
    # The preset replaces the --map options next time; the run is recorded.
    out, _err = call("opportunities", path, "--preset", "crm")
    assert "0 created, 2 updated" in out
    assert ImportRun.objects.filter(source="cli").count() == 2


def test_errors_are_listed_and_nothing_is_imported(reps, write_csv) -> None:
    path = str(write_csv(HEADER, ROWS))
    with pytest.raises(CommandError, match="nothing was imported") as caught:
        call("opportunities", path, "--map", "owner=Rep", "--map", "created_date=Created")
    assert "problem" in str(caught.value)
    assert not Opportunity.objects.exists()


def test_errors_go_to_stderr_with_row_and_column(reps, write_csv) -> None:
    path = str(write_csv(HEADER, ROWS))
    err = StringIO()
    with pytest.raises(CommandError):
        call_command(
            "analytics",
            "import",
            "opportunities",
            path,
            "--map",
            "owner=Rep",
            "--map",
            "created_date=Created",
            "--no-progress",
            stderr=err,
            stdout=StringIO(),
        )
    assert "row 2, Deal Stage: unknown stage “Signed”" in err.getvalue()


def test_skip_invalid_and_dry_run(reps, write_csv) -> None:
    path = str(write_csv(HEADER, ROWS))
    base = [
        "opportunities",
        path,
        "--map",
        "owner=Rep",
        "--map",
        "created_date=Created",
        "--map",
        "close_date=Closed",
    ]
    out, _err = call(*base, "--dry-run", "--skip-invalid")
    assert "dry run" in out and not Opportunity.objects.exists()
    out, err = call(*base, "--skip-invalid")
    assert "1 created, 0 updated, 1 skipped" in out and "skipped row 2" in err
    assert list(Opportunity.objects.values_list("external_id", flat=True)) == ["C-2"]


def test_bad_options(db, write_csv) -> None:
    path = str(write_csv(["email"], [["a@example.com"]]))
    with pytest.raises(CommandError, match="not a field"):
        call("people", path, "--map", "nope=email")
    with pytest.raises(CommandError, match="not an outcome"):
        call("people", path, "--stage-map", "Signed=maybe")
    with pytest.raises(CommandError, match="No saved mapping"):
        call("people", path, "--preset", "missing")
    with pytest.raises(CommandError, match="does not exist"):
        call("people", "/nonexistent.csv")


def test_people_command(db, write_csv) -> None:
    path = str(write_csv(["Email", "Full Name"], [["new@example.com", "New Person"]]))
    out, _err = call("people", path)
    assert "1 created" in out
