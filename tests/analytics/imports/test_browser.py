"""Browser journey through the upload pages (Debian's Chromium): upload a CSV, see the
preview, map an unknown stage, check, import, open the run's page.

Set VERITY_SHOTS=/some/dir to also save screenshots at laptop (1280x800) and phone widths.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.conftest import PASSWORD, Cast
from verity.analytics.models import Opportunity, Product

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

SHOTS = os.environ.get("VERITY_SHOTS", "")
SIZES = {"laptop": {"width": 1280, "height": 800}, "phone": {"width": 390, "height": 844}}

CSV = (
    "Opportunity ID,Opportunity Owner,Account Name,Deal Stage,Created Date,Close Date,"
    "Amount,Product\n"
    'W-1,sales@example.com,Acme Corporation,Closed Won,2025-01-01,2025-02-01,"12,000",Forecasting\n'
    "W-2,sales@example.com,Globex,Signed,1/2/2025,2/2/2025,500,Fcst\n"
    "W-3,sales@example.com,Initech,Prospecting,2025-01-03,,10,Forecasting\n"
    "W-4,nobody@example.com,Hooli,Closed Lost,2025-01-03,2025-13-01,10,Forecasting\n"
)


def shoot(page: Page, name: str) -> None:
    if not SHOTS:
        return
    Path(SHOTS).mkdir(parents=True, exist_ok=True)
    original = page.viewport_size
    for label, size in SIZES.items():
        page.set_viewport_size(size)
        page.screenshot(path=f"{SHOTS}/{name}-{label}.png", full_page=True)
    if original:
        page.set_viewport_size(original)


def sign_in(page: Page, base: str, email: str) -> None:
    page.goto(f"{base}/login/?next=/analytics/imports/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(f"{base}/analytics/imports/")


def test_upload_map_check_import(page: Page, live_server, cast: Cast, tmp_path, settings) -> None:
    settings.VAR_DIR = tmp_path
    Product.objects.create(name="Forecasting")
    file = tmp_path / "deals.csv"
    file.write_text(CSV)
    sign_in(page, live_server.url, "admin@example.com")
    shoot(page, "imports-empty")
    page.get_by_label("The file contains").select_option("opportunities")
    page.get_by_label("CSV file").set_input_files(str(file))
    page.get_by_role("button", name="Upload and preview").click()
    expect(page.get_by_role("heading", name="The first rows")).to_be_visible()
    expect(page.get_by_label("Owner (email or name)")).to_have_value("Opportunity Owner")
    shoot(page, "imports-mapping")

    page.get_by_role("button", name="Check the file").click()
    expect(page.get_by_role("alert").first).to_contain_text("problems found")
    expect(page.locator(".import-errors")).to_contain_text("unknown stage “Signed”")
    shoot(page, "imports-errors")
    assert not Opportunity.objects.exists()

    page.get_by_label("Signed").select_option("won")
    page.get_by_label("Fcst").select_option("Forecasting")
    page.get_by_label("Import the valid rows and skip the invalid ones").check()
    page.get_by_role("button", name="Import", exact=True).click()
    expect(page.get_by_role("status").first).to_contain_text("3 created")
    shoot(page, "imports-run")
    assert set(Opportunity.objects.values_list("external_id", flat=True)) == {"W-1", "W-2", "W-3"}

    page.goto(f"{live_server.url}/analytics/imports/")
    expect(page.locator(".import-runs")).to_contain_text("deals.csv")
    shoot(page, "imports-list")
    page.goto(f"{live_server.url}/analytics/imports/stages/")
    expect(page.get_by_role("cell", name="signed", exact=True)).to_be_visible()
    shoot(page, "imports-stages")
    page.goto(f"{live_server.url}/analytics/imports/products/")
    expect(page.get_by_text("fcst")).to_be_visible()
    shoot(page, "imports-products")
