"""Browser journeys through the knowledge pages, driving Debian's Chromium."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from playwright.sync_api import BrowserContext, Page, expect

from tests.conftest import PASSWORD
from verity.knowledge.models import Card

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def signed_in_context(browser, live_server, user) -> BrowserContext:
    """A browser already signed in as `user` (session cookie from the test client)."""
    client = Client()
    client.force_login(user)
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.add_cookies(
        [{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}]
    )
    return context


def sign_in(page: Page, live_server, email: str) -> None:
    page.goto(f"{live_server.url}/login/")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", PASSWORD)
    page.locator("form:has(input[name=password]) button[type=submit]").click()
    expect(page.locator(".topbar .user-menu")).to_be_visible()


def test_write_search_flag_verify(page: Page, browser, live_server, cast) -> None:
    # The author signs in and writes a card, watching the live preview.
    sign_in(page, live_server, cast.author.email)
    page.get_by_role("link", name=re.compile("New card")).first.click()
    page.fill("#id_title", "Competitor Zenith: pricing traps")
    page.select_option("#id_collection", label="Sales Playbook")
    page.fill("#id_content", "Zenith charges **per seat** for SSO.\n\n- Ask about add-ons")
    expect(page.locator("#preview-body strong")).to_have_text("per seat")
    page.fill("#id_tags", "competitors, zenith")
    page.get_by_role("button", name="Create card").click()
    expect(page.locator("h1")).to_have_text("Competitor Zenith: pricing traps")
    expect(page.locator("#card-status .badge")).to_contain_text("Unverified")
    card = Card.objects.get(title="Competitor Zenith: pricing traps")

    # "/" focuses the global search; Enter shows the results page.
    page.locator("body").press("/")
    expect(page.locator("#global-q")).to_be_focused()
    page.keyboard.type("zenith")
    page.keyboard.press("Enter")
    expect(page.locator(".result-title")).to_contain_text(["Competitor Zenith: pricing traps"])
    expect(page.locator(".result .badge").first).to_contain_text("Unverified")
    # Typing in the search page updates the results in place (htmx).
    page.fill("#search-q", "seat")
    expect(page.locator(".result-count")).to_contain_text("seat")
    expect(page).to_have_url(re.compile(r"q=seat"))

    # Another user (a reader in Sales) flags it.
    reader = signed_in_context(browser, live_server, cast.sales_reader).new_page()
    reader.goto(f"{live_server.url}/cards/{card.pk}/")
    reader.get_by_role("link", name=re.compile("Flag as outdated")).click()
    dialog = reader.locator("#flag-dialog")
    expect(dialog).to_be_visible()
    dialog.locator("textarea").fill("Zenith dropped the SSO fee last week.")
    dialog.get_by_role("button", name="Send flag").click()
    expect(dialog).to_contain_text("The verifier has been told")
    expect(reader.locator("#card-status .badge")).to_contain_text("Needs verification")
    dialog.get_by_role("button", name="Close").click()
    expect(dialog).to_be_hidden()
    expect(reader.locator("#card-status")).to_contain_text("Zenith dropped the SSO fee")

    # The verifier sees it in the queue and verifies it in one click.
    page.goto(f"{live_server.url}/queue/")
    row = page.locator(f"#queue-row-{card.pk}")
    expect(row).to_contain_text("Flagged as outdated")
    row.get_by_role("button", name=re.compile("Verify")).click()
    expect(page.locator(f"#queue-row-{card.pk}")).to_contain_text("Done")
    expect(page.locator(f"#queue-row-{card.pk} .badge")).to_contain_text("Verified")

    # Everyone now sees the new state.
    reader.reload()
    expect(reader.locator("#card-status .badge")).to_contain_text("Verified")
    expect(reader.locator("#card-status")).to_contain_text("verified today by Author")
    card.refresh_from_db()
    assert card.verification_state == "verified"


def test_edit_conflict_keeps_typed_text(browser, live_server, cast) -> None:
    page = signed_in_context(browser, live_server, cast.author).new_page()
    page.goto(f"{live_server.url}/cards/{cast.sales_card.pk}/edit/")
    page.fill("#id_content", "My long careful rewrite.")
    # Meanwhile the curator saves a new version.
    from verity.knowledge import services

    services.card_update(
        user=cast.curator, card=cast.sales_card, expected_version=1, content="Curator's change."
    )
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#conflict")).to_contain_text("Someone else saved this card")
    expect(page.locator("#id_content")).to_have_value("My long careful rewrite.")
    cast.sales_card.refresh_from_db()
    assert cast.sales_card.content == "Curator's change."


def test_phone_navigation_folds_into_a_menu(browser, live_server, cast) -> None:
    context = signed_in_context(browser, live_server, cast.sales_reader)
    page = context.new_page()
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{live_server.url}/cards/{cast.sales_card.pk}/")
    nav = page.locator("#sidenav")
    expect(nav).to_be_hidden()
    page.get_by_role("button", name="Menu").click()
    expect(nav).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390


def test_russian_interface(browser, live_server, cast) -> None:
    page = signed_in_context(browser, live_server, cast.sales_reader).new_page()
    page.goto(f"{live_server.url}/cards/{cast.sales_card.pk}/")
    page.locator(".user-menu summary").click()
    page.select_option("#lang-select", "ru")
    page.locator(".lang-form button[type=submit]").click()
    expect(page.locator("html")).to_have_attribute("lang", "ru")
    expect(page.locator("#sidenav")).to_contain_text("Главная")
    expect(page.locator("#sidenav")).to_contain_text("Очередь проверки")
    expect(page.locator("#card-status .badge")).to_contain_text("Не проверено")  # noqa: RUF001
    expect(page.locator(".card-facts")).to_contain_text("Проверяющий")


WOULD_ASK_BEFORE_LEAVING = """() => {
    const event = new Event("beforeunload", {cancelable: true});
    window.dispatchEvent(event);
    return event.defaultPrevented;
}"""


def test_leaving_a_dirty_editor_asks_first(browser, live_server, cast) -> None:
    page = signed_in_context(browser, live_server, cast.author).new_page()
    page.goto(f"{live_server.url}/cards/{cast.sales_card.pk}/edit/")
    assert page.evaluate(WOULD_ASK_BEFORE_LEAVING) is False  # nothing typed yet
    page.locator("#id_content").click()
    page.keyboard.press("Control+End")
    page.keyboard.type(" More words.")
    assert page.evaluate(WOULD_ASK_BEFORE_LEAVING) is True
    # Saving is not "leaving": the card page that follows asks nothing.
    page.get_by_role("button", name="Save").click()
    page.wait_for_url(f"{live_server.url}/cards/{cast.sales_card.pk}/")
    assert page.evaluate(WOULD_ASK_BEFORE_LEAVING) is False
    cast.sales_card.refresh_from_db()
    assert cast.sales_card.content.endswith("More words.")
