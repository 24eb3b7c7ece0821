"""Browser journey of impact analytics (issue 5's "Tests" section): a site admin uploads a
CRM export of opportunities, maps the one column the importer cannot guess, checks the
file, imports it, then opens program impact and reads n, the interval and the caveat.

The people and their onboarding completions come from the synthetic generator (an HR
import is not the point here); their deals are written to a CSV with Salesforce's column
names and removed from the database, so everything the impact page shows about deals
arrived through the upload.

Set VERITY_SHOTS=/some/dir to also save screenshots at laptop width.
"""

from __future__ import annotations

import csv
import os
import re
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone
from playwright.sync_api import Browser, Page, expect

from tests.conftest import PASSWORD, make_user
from verity.accounts.models import JobFunction, SiteRole
from verity.analytics import frames, synthetic
from verity.analytics.models import ImportRun, Opportunity
from verity.learning.models import Program

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

SHOTS = os.environ.get("VERITY_SHOTS", "")
LAPTOP = {"width": 1280, "height": 800}
DASH = "\N{EN DASH}"  # intervals are written "CI 64 d, en dash, 83 d"
# Salesforce's report headers, except the amount, which this CRM calls "Deal Value".
HEADERS = [
    "Opportunity ID",
    "Opportunity Owner",
    "Account Name",
    "Product",
    "Deal Value",
    "Stage",
    "Created Date",
    "Close Date",
]


def shoot(page: Page, name: str) -> None:
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=f"{SHOTS}/{name}.png", full_page=True)


@pytest.fixture
def crm_export(tmp_path: Path) -> tuple[Program, Path, int]:
    admin = make_user("admin@example.com", site_role=SiteRole.ADMIN)
    launched = timezone.make_aware(
        datetime.combine(date.today() - timedelta(days=400), datetime.min.time())
    )
    program = Program.objects.create(
        name="New-hire onboarding",
        owner=admin,
        status="active",
        due_days=30,
        audience_functions=[JobFunction.SALES, JobFunction.SUCCESS, JobFunction.SUPPORT],
        launched_at=launched,
    )
    synthetic.generate(seed=11, reps=40, opportunities=3000, program=program)
    export = tmp_path / "salesforce-opportunities.csv"
    deals = Opportunity.objects.select_related("owner", "product").order_by("pk")
    with export.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(HEADERS)
        for deal in deals:
            writer.writerow(
                [
                    deal.external_id,
                    deal.owner.email,
                    deal.account,
                    deal.product.name if deal.product else "",
                    f"{deal.amount:.2f}",
                    deal.stage,
                    deal.created_date.isoformat(),
                    deal.close_date.isoformat() if deal.close_date else "",
                ]
            )
    count = deals.count()
    Opportunity.objects.all().delete()
    frames.bump_data_version()
    return program, export, count


def test_upload_map_import_then_read_program_impact(
    browser: Browser, live_server: Any, crm_export: tuple[Program, Path, int]
) -> None:
    program, export, count = crm_export
    context = browser.new_context(viewport=LAPTOP)
    page = context.new_page()
    page.goto(f"{live_server.url}/login/?next=/analytics/imports/")
    page.get_by_label("Email").fill("admin@example.com")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Imports")

    # Upload: the file waits for its column mapping; nothing is imported yet.
    page.get_by_label("The file contains").select_option("opportunities")
    page.get_by_label("CSV file").set_input_files(str(export))
    page.get_by_role("button", name="Upload and preview").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Import of Opportunities")
    expect(page.get_by_text("salesforce-opportunities.csv").first).to_be_visible()
    assert Opportunity.objects.count() == 0

    # Salesforce's headers are recognised; "Deal Value" is not, so the amount is mapped by
    # hand. Checking the file finds nothing wrong and still writes nothing.
    owner = page.locator("#id_map_owner")
    expect(owner).to_have_value("Opportunity Owner")
    page.locator("#id_map_amount").select_option("Deal Value")
    shoot(page, "analytics-import-mapping")
    page.get_by_role("button", name="Check the file").click()
    expect(page.get_by_text(f"{count} rows: {count} will be created, 0 updated")).to_be_visible()
    expect(page.get_by_role("alert")).to_have_count(0)
    assert Opportunity.objects.count() == 0

    page.get_by_role("button", name="Import", exact=True).click()
    expect(page.get_by_role("status").or_(page.locator(".messages")).first).to_contain_text(
        f"Imported {count} rows: {count} created, 0 updated"
    )
    assert Opportunity.objects.count() == count
    run = ImportRun.objects.get(source="upload")
    assert (run.created_count, run.error_count) == (count, 0)
    assert run.options["mapping"]["amount"] == "Deal Value"

    # Program impact: time to first deal, completed against not completed.
    page.goto(f"{live_server.url}/analytics/impact/")
    page.get_by_label("Program").select_option(str(program.pk))
    page.get_by_label("Metric").select_option("time_to_first_deal_days")
    page.get_by_role("button", name="Show").click()
    expect(page.get_by_text("Association, not proof of cause.").first).to_be_visible()
    compared = page.locator("section, .panel").filter(has_text="Completed against not completed")
    expect(compared.first).to_contain_text(re.compile(r"n = \d+"))
    expect(compared.first).to_contain_text(re.compile(r"CI \d+ d " + DASH + r" \d+ d"))
    expect(compared.first).to_contain_text("95% interval")
    shoot(page, "analytics-impact")
    context.close()
