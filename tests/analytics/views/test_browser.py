"""The analytics pages in Chromium: each page opens with demo-like synthetic data, shows n,
an interval and the caveat, and its charts have a table of their numbers; the filters work
without JavaScript and with htmx.

Set VERITY_SHOTS=/some/dir to also save screenshots of every page at laptop (1280 x 800)
and phone (390 x 844) widths, in English and Russian.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.analytics.views.conftest import Demo, Viewers
from verity.accounts.models import User

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

SHOTS = os.environ.get("VERITY_SHOTS", "")
SIZES = {"laptop": {"width": 1280, "height": 800}, "phone": {"width": 390, "height": 844}}


def signed_in(
    browser: Browser, live_server: Any, user: User, language: str = "en"
) -> BrowserContext:
    client = Client()
    client.force_login(user)
    context = browser.new_context(locale=language, extra_http_headers={"Accept-Language": language})
    context.add_cookies(
        [{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}]
    )
    return context


def shoot(page: Page, name: str) -> None:
    if not SHOTS:
        return
    Path(SHOTS).mkdir(parents=True, exist_ok=True)
    for label, size in SIZES.items():
        page.set_viewport_size(size)
        page.evaluate("window.scrollTo(0, 0)")
        page.screenshot(path=f"{SHOTS}/{name}-{label}.png", full_page=True)
    page.set_viewport_size(SIZES["laptop"])


def no_sideways_scroll(page: Page) -> None:
    page.set_viewport_size(SIZES["phone"])
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= SIZES["phone"]["width"], f"{page.url} scrolls sideways ({width}px)"
    page.set_viewport_size(SIZES["laptop"])


def test_every_page_in_the_browser(
    browser: Browser, live_server: Any, demo: Demo, viewers: Viewers
) -> None:
    for language in ("en", "ru"):
        context = signed_in(browser, live_server, viewers.admin, language)
        page = context.new_page()
        page.set_viewport_size(SIZES["laptop"])
        pages = {
            "overview": "/analytics/",
            "people": "/analytics/people/",
            "scorecard": f"/analytics/people/{demo.rep.pk}/",
            "impact": f"/analytics/impact/?program={demo.program.pk}",
            "impact-win-rate": f"/analytics/impact/?program={demo.program.pk}&metric=win_rate",
            "retention": "/analytics/retention/",
            "roi": f"/analytics/roi/?program={demo.program.pk}",
            "definitions": "/analytics/definitions/",
            "definition": "/analytics/definitions/win_rate/",
        }
        for name, url in pages.items():
            response = page.goto(live_server.url + url)
            assert response is not None and response.status == 200, url
            expect(page.locator("h1")).to_be_visible()
            shoot(page, f"{name}-{language}")
            no_sideways_scroll(page)
        context.close()


def test_impact_shows_n_interval_and_caveat_and_filters_work(
    browser: Browser, live_server: Any, demo: Demo, viewers: Viewers
) -> None:
    context = signed_in(browser, live_server, viewers.enablement)
    page = context.new_page()
    page.goto(f"{live_server.url}/analytics/impact/")
    expect(page.get_by_text("Association, not proof of cause.").first).to_be_visible()
    expect(page.locator(".est-n").first).to_contain_text("n = ")
    expect(page.locator(".est-ci", has_text="CI").first).to_be_visible()
    # htmx swaps the page when the metric changes; the URL follows, so it can be shared.
    page.get_by_label("Metric").select_option("win_rate")
    expect(page).to_have_url(re.compile(r"metric=win_rate"))
    expect(page.get_by_role("heading", name="Difference in differences")).to_be_visible()
    # On the overview, the numbers behind a chart are one click away.
    page.goto(f"{live_server.url}/analytics/")
    page.get_by_text("Show the numbers").first.click()
    expect(page.locator("details.chart-data table").first).to_be_visible()
    context.close()
