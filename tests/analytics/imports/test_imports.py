"""The import services: every row checked, problems by row (header = 1) and column, nothing
written on error unless skip_invalid, re-imports update in place, stage and product mapping,
people with managers and terminations, stage history and quotas, the audit record."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.db import connection
from django.utils import timezone

from tests.analytics.imports.conftest import OPP_HEADER
from verity.accounts.models import User
from verity.analytics import frames, imports, imports_kinds
from verity.analytics.imports import ImportOptions, ImportRejected
from verity.analytics.models import (
    ImportRun,
    ImportStatus,
    Opportunity,
    Product,
    ProductAlias,
    Quota,
    StageEntry,
    StageMapping,
)

pytestmark = pytest.mark.django_db

GOOD = [
    [
        "A-1",
        "ann@example.com",
        "Acme",
        "Forecasting",
        "1,000.50",
        "Closed Won",
        "2025-01-10",
        "2025-03-01",
    ],
    ["A-2", "Bob Rep", "Globex", "", "$2,000", "Closed Lost", "1/15/2025", "15.03.2025"],
    ["A-3", "ann@example.com", "Initech", "Forecasting", "", "Prospecting", "2025-02-01", ""],
]


def run(kind: str, path: Path, **options: Any) -> imports.ImportReport:
    return imports.import_file(kind=kind, path=path, options=ImportOptions(**options))


def rejected(kind: str, path: Path, **options: Any) -> imports.ImportReport:
    with pytest.raises(ImportRejected) as caught:
        run(kind, path, **options)
    return caught.value.report


def test_opportunities_import(reps, write_csv) -> None:
    version = frames.data_version()
    report = run("opportunities", write_csv(OPP_HEADER, GOOD))
    assert (report.rows, report.created, report.updated, report.error_count) == (3, 3, 0, 0)
    won = Opportunity.objects.get(external_id="A-1")
    assert won.owner == reps["ann"]
    assert won.outcome == "won" and won.amount == Decimal("1000.50")
    assert won.product is not None and won.product.name == "Forecasting"
    assert won.close_date == date(2025, 3, 1)
    lost = Opportunity.objects.get(external_id="A-2")
    assert lost.owner == reps["bob"] and lost.outcome == "lost"
    assert lost.created_date == date(2025, 1, 15) and lost.close_date == date(2025, 3, 15)
    assert lost.product is None and lost.amount == Decimal("2000")
    open_deal = Opportunity.objects.get(external_id="A-3")
    assert open_deal.outcome == "open" and open_deal.close_date is None
    assert frames.data_version() == version + 1
    record = ImportRun.objects.get(pk=report.run_id)
    assert record.status == ImportStatus.DONE and record.created_count == 3


@pytest.mark.parametrize(
    ("bad_row", "column", "words"),
    [
        (
            ["B-1", "ann@example.com", "", "", "10", "Closed Won", "2025-13-45", "2025-03-01"],
            "created_date",
            "not a date",
        ),
        (
            ["B-1", "ann@example.com", "", "", "10", "Signed", "2025-01-01", "2025-03-01"],
            "stage",
            "unknown stage “Signed”",
        ),
        (
            ["B-1", "nobody@example.com", "", "", "10", "Closed Won", "2025-01-01", "2025-03-01"],
            "owner",
            "no person",
        ),
        (
            ["A-1", "ann@example.com", "", "", "10", "Closed Won", "2025-01-01", "2025-03-01"],
            "id",
            "duplicate id “A-1” (also on row 2)",
        ),
        (
            ["B-1", "ann@example.com", "", "", "-10", "Closed Won", "2025-01-01", "2025-03-01"],
            "amount",
            "negative",
        ),
    ],
    ids=["bad date", "unknown stage", "unknown owner", "duplicate id", "negative amount"],
)
def test_a_bad_row_is_reported_by_row_and_column_and_nothing_is_written(
    reps, write_csv, bad_row, column, words
) -> None:
    path = write_csv(OPP_HEADER, [GOOD[0], GOOD[1], bad_row, GOOD[2]])
    report = rejected("opportunities", path)
    assert report.error_count == 1
    error = report.errors[0]
    assert (error.row, error.column, error.field) == (4, column, column)
    assert words in error.message
    assert not Opportunity.objects.exists()
    assert not Product.objects.exists()  # created while checking, rolled back
    record = ImportRun.objects.get(pk=report.run_id)
    assert record.status == ImportStatus.FAILED and record.errors[0]["row"] == 4


def test_errors_name_the_columns_as_the_file_calls_them(reps, write_csv) -> None:
    header = ["Opportunity ID", "Opportunity Owner", "Stage", "Created Date", "Close Date"]
    path = write_csv(header, [["X", "ann@example.com", "Closed Won", "soon", "2025-01-01"]])
    error = rejected("opportunities", path).errors[0]
    assert (error.row, error.column, error.field) == (2, "Created Date", "created_date")


def test_every_problem_of_every_row_is_counted(reps, write_csv) -> None:
    rows = [["", "", "", "", "x", "", "", ""]] * 3
    report = rejected("opportunities", write_csv(OPP_HEADER, rows))
    assert report.error_count == 3 * 5  # id, owner, amount, stage, created_date
    assert {e.row for e in report.errors} == {2, 3, 4}


def test_skip_invalid_writes_the_valid_rows(reps, write_csv) -> None:
    bad = ["B-1", "nobody@example.com", "", "", "10", "Closed Won", "2025-01-01", "2025-03-01"]
    report = run("opportunities", write_csv(OPP_HEADER, [GOOD[0], bad, GOOD[1]]), skip_invalid=True)
    assert (report.created, report.skipped, report.error_count) == (2, 1, 1)
    assert set(Opportunity.objects.values_list("external_id", flat=True)) == {"A-1", "A-2"}


def test_dry_run_counts_and_writes_nothing(reps, write_csv) -> None:
    report = run("opportunities", write_csv(OPP_HEADER, GOOD), dry_run=True)
    assert (report.created, report.written) == (3, False)
    assert not Opportunity.objects.exists()
    assert ImportRun.objects.get(pk=report.run_id).status == ImportStatus.UPLOADED


def test_reimport_updates_in_place_and_loses_nothing(reps, write_csv) -> None:
    run("opportunities", write_csv(OPP_HEADER, GOOD))
    ids = dict(Opportunity.objects.values_list("external_id", "pk"))
    changed = [
        [
            "A-3",
            "bob@example.com",
            "Initech",
            "Forecasting",
            "5000",
            "Closed Won",
            "2025-02-01",
            "2025-04-01",
        ],
        ["A-4", "bob@example.com", "Hooli", "", "7", "Closed Lost", "2025-02-01", "2025-04-02"],
    ]
    report = run("opportunities", write_csv(OPP_HEADER, changed))
    assert (report.created, report.updated) == (1, 1)
    assert Opportunity.objects.count() == 4
    deal = Opportunity.objects.get(external_id="A-3")
    assert deal.pk == ids["A-3"]
    assert (deal.owner, deal.outcome, deal.amount) == (reps["bob"], "won", Decimal("5000"))
    assert Opportunity.objects.get(external_id="A-1").amount == Decimal("1000.50")


def test_stage_mapping_defaults_database_and_command_line(reps, write_csv) -> None:
    StageMapping.objects.create(stage="signed", outcome="won")
    rows = [
        ["S-1", "ann@example.com", "", "", "1", "closedwon", "2025-01-01", "2025-02-01"],
        ["S-2", "ann@example.com", "", "", "1", "closedlost", "2025-01-01", "2025-02-01"],
        ["S-3", "ann@example.com", "", "", "1", "SIGNED", "2025-01-01", "2025-02-01"],
        ["S-4", "ann@example.com", "", "", "1", "Dead", "2025-01-01", "2025-02-01"],
        ["S-5", "ann@example.com", "", "", "1", "qualifiedtobuy", "2025-01-01", ""],
        ["S-6", "ann@example.com", "", "", "1", "Negotiation/Review", "2025-01-01", ""],
    ]
    path = write_csv(OPP_HEADER, rows)
    assert rejected("opportunities", path).errors[0].row == 5  # "Dead" is unknown
    run("opportunities", path, stage_map=imports.parse_stage_map(["Dead=lost"]))
    outcomes = dict(Opportunity.objects.values_list("external_id", "outcome"))
    assert outcomes == {
        "S-1": "won",
        "S-2": "lost",
        "S-3": "won",
        "S-4": "lost",
        "S-5": "open",
        "S-6": "open",
    }
    # The command-line mapping is remembered for the next imports.
    assert StageMapping.objects.get(stage="dead").outcome == "lost"


def test_product_aliases(reps, write_csv) -> None:
    forecasting = Product.objects.create(name="Northwind Forecasting")
    ProductAlias.objects.create(alias="nw forecasting", product=forecasting)
    rows = [
        [
            "P-1",
            "ann@example.com",
            "",
            "northwind forecasting",
            "1",
            "Prospecting",
            "2025-01-01",
            "",
        ],
        ["P-2", "ann@example.com", "", "NW Forecasting", "1", "Prospecting", "2025-01-01", ""],
        ["P-3", "ann@example.com", "", "Fcst", "1", "Prospecting", "2025-01-01", ""],
    ]
    run(
        "opportunities",
        write_csv(OPP_HEADER, rows),
        product_aliases=imports.parse_product_aliases(["Fcst=Northwind Forecasting"]),
    )
    assert set(Opportunity.objects.values_list("product_id", flat=True)) == {forecasting.pk}
    assert Product.objects.count() == 1
    assert ProductAlias.objects.get(alias="fcst").product == forecasting


def test_people_import_creates_updates_managers_and_terminations(write_csv, cast) -> None:
    past = (timezone.localdate() - timedelta(days=30)).isoformat()
    future = (timezone.localdate() + timedelta(days=30)).isoformat()
    header = [
        "email",
        "name",
        "job_function",
        "team",
        "manager_email",
        "hire_date",
        "termination_date",
        "termination_type",
    ]
    rows = [
        # the manager comes later in the file
        [
            "Rep@Example.com",
            "Rita Rep",
            "Customer Success",
            "East",
            "boss@example.com",
            "2024-01-15",
            "",
            "",
        ],
        ["boss@example.com", "Big Boss", "LEADERSHIP", "East", "", "1/2/2020", "", ""],
        [
            "gone@example.com",
            "Gone Person",
            "sales",
            "West",
            "boss@example.com",
            "2023-05-01",
            past,
            "Voluntary",
        ],
        ["leaving@example.com", "Leaving", "support", "", "", "2023-05-01", future, "involuntary"],
        ["sales@example.com", "Sales Renamed", "sales", "North", "manager@example.com", "", "", ""],
    ]
    report = run("people", write_csv(header, rows))
    assert (report.created, report.updated) == (4, 1)
    rep = User.objects.get(email="rep@example.com")
    boss = User.objects.get(email="boss@example.com")
    assert (rep.name, rep.job_function, rep.team, rep.manager) == (
        "Rita Rep",
        "success",
        "East",
        boss,
    )
    assert rep.hire_date == date(2024, 1, 15) and boss.hire_date == date(2020, 1, 2)
    assert not rep.has_usable_password() and rep.is_active
    gone = User.objects.get(email="gone@example.com")
    assert not gone.is_active and gone.termination_type == "voluntary"
    assert User.objects.get(email="leaving@example.com").is_active
    existing = User.objects.get(email="sales@example.com")
    assert existing.name == "Sales Renamed" and existing.team == "North"
    assert existing.manager == cast.manager
    assert existing.has_usable_password()  # an existing login is left alone


def test_people_unknown_manager_and_bad_values(write_csv, db) -> None:
    header = ["email", "manager_email", "job_function", "termination_type", "hire_date"]
    rows = [
        ["a@example.com", "ghost@example.com", "sales", "", ""],
        ["b@example.com", "", "astronaut", "", ""],
        ["c@example.com", "", "", "fired", ""],
        ["not-an-email", "", "", "", ""],
        ["d@example.com", "", "", "", "32.01.2020"],
    ]
    report = rejected("people", write_csv(header, rows))
    found = {(e.row, e.column) for e in report.errors}
    assert found == {
        (2, "manager_email"),
        (3, "job_function"),
        (4, "termination_type"),
        (5, "email"),
        (6, "hire_date"),
    }
    assert not User.objects.exists()


def test_stage_history(reps, write_csv) -> None:
    run("opportunities", write_csv(OPP_HEADER, GOOD))
    header = ["opportunity_id", "stage", "entered_at"]
    rows = [["A-1", "Prospecting", "2025-01-10"], ["A-1", "Closed Won", "2025-03-01 14:30"]]
    report = run("stage-history", write_csv(header, rows))
    assert report.created == 2
    again = run("stage-history", write_csv(header, [*rows, ["A-2", "Closed Lost", "3/15/2025"]]))
    assert (again.created, again.updated) == (1, 2)
    assert StageEntry.objects.count() == 3
    bad = rejected("stage-history", write_csv(header, [["NOPE", "Prospecting", "2025-01-01"]]))
    assert (bad.errors[0].row, bad.errors[0].column) == (2, "opportunity_id")


def test_quotas(reps, write_csv) -> None:
    header = ["owner", "period_start", "amount"]
    report = run(
        "quotas",
        write_csv(
            header, [["ann@example.com", "2025-01-15", "10,000"], ["Bob Rep", "2025-02-01", "5000"]]
        ),
    )
    assert report.created == 2
    quota = Quota.objects.get(owner=reps["ann"])
    assert quota.period_start == date(2025, 1, 1) and quota.amount == Decimal("10000")
    again = run("quotas", write_csv(header, [["ann@example.com", "2025-01-01", "12000"]]))
    assert (again.created, again.updated) == (0, 1)
    assert Quota.objects.get(owner=reps["ann"]).amount == Decimal("12000")
    dup = rejected(
        "quotas",
        write_csv(
            header, [["ann@example.com", "2025-03-01", "1"], ["ann@example.com", "2025-03-20", "2"]]
        ),
    )
    assert (dup.errors[0].row, dup.errors[0].column) == (3, "period_start")


def test_ambiguous_owner_name(reps, write_csv) -> None:
    User.objects.create_user("ann2@example.com", name="Ann Rep")
    rows = [["X-1", "Ann Rep", "", "", "1", "Prospecting", "2025-01-01", ""]]
    error = rejected("opportunities", write_csv(OPP_HEADER, rows)).errors[0]
    assert error.column == "owner" and "2 people" in error.message


def test_semicolon_file_with_bom(reps, tmp_path) -> None:
    path = tmp_path / "excel.csv"
    path.write_bytes(
        (
            "\ufeffid;owner;stage;created_date;amount\n"
            "E-1;ann@example.com;Prospecting;31.01.2026;1 234,50\n"
        ).encode()
    )
    run("opportunities", path)
    deal = Opportunity.objects.get(external_id="E-1")
    assert deal.amount == Decimal("1234.50") and deal.created_date == date(2026, 1, 31)


def test_bulk_mode_gives_the_same_rows_and_keeps_the_indexes(reps, write_csv, monkeypatch) -> None:
    """Large files on SQLite drop and rebuild the secondary indexes; the result must be the
    same rows and the same indexes (and a rollback must restore them)."""
    monkeypatch.setattr(imports, "BULK_MODE_ROWS", 2)

    def indexes() -> set[str]:
        with connection.cursor() as cursor:
            return {
                i for i in connection.introspection.get_constraints(cursor, "analytics_opportunity")
            }

    before = indexes()
    run("opportunities", write_csv(OPP_HEADER, GOOD))
    assert Opportunity.objects.count() == 3 and indexes() == before
    bad = [*GOOD, ["A-1", "ann@example.com", "", "", "1", "Prospecting", "2025-01-01", ""]]
    rejected("opportunities", write_csv(OPP_HEADER, bad))
    assert indexes() == before and Opportunity.objects.count() == 3


def test_batches(reps, write_csv, monkeypatch) -> None:
    monkeypatch.setattr(imports, "BATCH_SIZE", 2)
    rows = [
        [f"N-{i}", "ann@example.com", "", "", str(i), "Prospecting", "2025-01-01", ""]
        for i in range(7)
    ]
    report = run("opportunities", write_csv(OPP_HEADER, rows))
    assert report.created == 7 and Opportunity.objects.count() == 7
    rows[6][0] = "N-0"
    report = rejected("opportunities", write_csv(OPP_HEADER, rows))
    assert report.errors[0].row == 8
    assert Opportunity.objects.count() == 7  # the rolled-back batches are gone too


def test_missing_required_column_is_a_header_problem(reps, write_csv) -> None:
    report = rejected("opportunities", write_csv(["id", "owner"], [["A", "ann@example.com"]]))
    assert {e.field for e in report.errors} == {"stage", "created_date"}
    assert all(e.row == 1 for e in report.errors)


def test_presets(db) -> None:
    imports.preset_save(user=None, kind="opportunities", name="SF", mapping={"id": "Opp ID"})
    assert imports.preset_mapping("opportunities", "SF") == {"id": "Opp ID"}
    with pytest.raises(Exception, match="No saved mapping"):
        imports.preset_mapping("quotas", "SF")


def test_handlers_cover_every_kind() -> None:
    assert set(imports_kinds.HANDLERS) == set(imports.KINDS) == set(imports_kinds.FIELDS)


def test_an_invalid_row_creates_no_product(reps, write_csv) -> None:
    rows = [
        GOOD[2],
        ["Z-1", "ann@example.com", "", "Brand New", "1", "Prospecting", "not a date", ""],
    ]
    report = run("opportunities", write_csv(OPP_HEADER, rows), skip_invalid=True)
    assert (report.created, report.skipped) == (1, 1)
    assert list(Product.objects.values_list("name", flat=True)) == ["Forecasting"]
