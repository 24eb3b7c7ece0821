"""Browser journey of search analytics: a reader searches as they type and opens a result;
a search that finds nothing shows up as a knowledge gap on the curators' insights page."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.test import Client
from playwright.sync_api import BrowserContext, expect

from verity.search.models import KnowledgeRequest, SearchEvent

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

AXE = Path(__file__).parent / "vendor" / "axe-4.10.2.min.js"
BADGE_TEXT = {
    "verified": "Verified",
    "needs_verification": "Needs verification",
    "unverified": "Unverified",
}


def signed_in_context(browser, live_server, user, **options) -> BrowserContext:
    client = Client()
    client.force_login(user)
    context = browser.new_context(viewport={"width": 1280, "height": 800}, **options)
    context.add_cookies(
        [{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}]
    )
    return context


def test_search_open_result_and_see_the_gap(browser, live_server, cast) -> None:
    reader = signed_in_context(browser, live_server, cast.sales_reader).new_page()
    reader.goto(f"{live_server.url}/search/")

    # Search as you type: the results appear while typing, without pressing Enter.
    box = reader.locator("#search-q")
    box.press_sequentially("discount appr", delay=40)
    result = reader.locator(".result-title a", has_text="Discount approval rules")
    expect(result).to_be_visible()
    expect(reader).to_have_url(re.compile(r"q=discount"))

    # Opening the result goes through the click counter to the card, with its state badge.
    result.click()
    expect(reader).to_have_url(re.compile(rf"/cards/{cast.sales_card.pk}/$"))
    expect(reader.locator("h1")).to_have_text("Discount approval rules")
    expect(reader.locator("#card-status .badge")).to_contain_text(
        BADGE_TEXT[cast.sales_card.verification_state]
    )
    # The pauses while typing made one search, and it knows which result was opened.
    opened = SearchEvent.objects.get(user=cast.sales_reader)
    assert opened.normalized == "discount appr"
    assert (opened.clicked_card_id, opened.clicked_rank) == (cast.sales_card.pk, 1)

    # A question the knowledge base cannot answer.
    reader.goto(f"{live_server.url}/search/")
    reader.locator("#search-q").press_sequentially("zenith sso fee", delay=40)
    expect(reader.locator("#search-results")).to_contain_text("No card you can read matches")
    expect(reader).to_have_url(re.compile(r"q=zenith"))
    assert SearchEvent.objects.filter(normalized="zenith sso fee", result_count=0).exists()

    # The reader has no insights page; the curator does, linked in the navigation.
    expect(reader.locator("#sidenav")).not_to_contain_text("Search insights")
    curator = signed_in_context(browser, live_server, cast.curator).new_page()
    curator.goto(f"{live_server.url}/")
    curator.locator("#sidenav").get_by_role("link", name="Search insights").click()
    gaps = curator.locator("#no-results")
    expect(gaps).to_contain_text("zenith sso fee")
    expect(gaps).not_to_contain_text("discount")
    expect(curator.locator("#top")).to_contain_text("discount appr")
    expect(curator.locator("main")).not_to_contain_text(cast.sales_reader.email)

    # Turn the gap into a request to the Sales SMEs.
    gaps.get_by_role("link", name="Ask an SME group").first.click()
    expect(curator.locator("#id_query")).to_have_value("zenith sso fee")
    curator.select_option("#id_group", label="Sales SMEs")
    curator.fill("#id_note", "Three reps asked this week.")
    curator.get_by_role("button", name="Send request").click()
    expect(curator.locator(".messages")).to_contain_text("Request sent")
    request = KnowledgeRequest.objects.get()
    row = curator.locator(f"#request-{request.pk}")
    expect(row).to_contain_text("Sales SMEs")
    expect(row).to_contain_text("Open")

    # Writing the card from the request prefills the title and answers the request.
    row.get_by_role("link", name="Write the card").click()
    expect(curator.locator("#id_title")).to_have_value("Zenith sso fee")
    curator.select_option("#id_collection", label="Sales Playbook")
    curator.fill("#id_content", "Zenith charges **per seat** for SSO.")
    curator.get_by_role("button", name="Create card").click()
    expect(curator.locator("h1")).to_have_text("Zenith sso fee")
    request.refresh_from_db()
    assert request.status == "answered"


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_insights_page_is_accessible_and_fits_a_phone(browser, live_server, cast, scheme) -> None:
    from verity.search import analytics

    analytics.record_search(user=cast.sales_reader, query="zenith sso fee", result_count=0)
    analytics.record_search(user=cast.support_reader, query="refund policy", result_count=2)
    request = analytics.create_request(user=cast.curator, query="zenith", group=cast.sales)
    context = signed_in_context(browser, live_server, cast.curator, color_scheme=scheme)
    page = context.new_page()
    for url in ("/search/insights/", "/search/insights/ask/?q=zenith"):
        page.goto(f"{live_server.url}{url}")
        page.add_script_tag(path=str(AXE))
        result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
        serious = [
            f"{v['id']}: {v['help']} {[n['target'] for n in v['nodes']][:3]}"
            for v in result["violations"]
            if v["impact"] in ("serious", "critical")
        ]
        assert serious == [], f"{url}: {serious}"
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{live_server.url}/search/insights/")
    expect(page.locator(f"#request-{request.pk}")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
