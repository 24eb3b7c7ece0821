"""Browser journeys through sign-in, the profile and the admin pages (Debian's Chromium).

Set VERITY_SHOTS=/some/dir to also save screenshots at laptop and phone widths.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.conftest import PASSWORD, Cast
from verity.accounts import access
from verity.accounts.models import Group

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

SHOTS = os.environ.get("VERITY_SHOTS", "")
SIZES = {"laptop": {"width": 1366, "height": 850}, "phone": {"width": 390, "height": 844}}


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


def sign_in(page: Page, base: str, email: str, password: str = PASSWORD) -> None:
    page.goto(f"{base}/login/?next=/profile/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(f"{base}/profile/")


def test_sign_in_wrong_password_then_right(page: Page, live_server, cast: Cast) -> None:
    page.goto(f"{live_server.url}/login/")
    shoot(page, "login")
    page.get_by_label("Email").fill("sales@example.com")
    page.get_by_label("Password").fill("not-it")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert").first).to_contain_text("do not match")
    expect(page.get_by_label("Email")).to_have_value("sales@example.com")
    shoot(page, "login-error")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).not_to_have_url(f"{live_server.url}/login/")


def test_login_page_switches_to_russian(page: Page, live_server, cast: Cast) -> None:
    page.goto(f"{live_server.url}/login/")
    page.get_by_role("button", name="Русский").click()
    expect(page.locator("html")).to_have_attribute("lang", "ru")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Вход")
    shoot(page, "login-ru")


def test_profile_token_and_language(page: Page, live_server, cast: Cast) -> None:
    sign_in(page, live_server.url, "sales@example.com")
    page.get_by_label("Token name").fill("CRM sync")
    page.get_by_role("button", name="Create token").click()
    token_box = page.locator("#new-token-value")
    expect(token_box).to_be_visible()
    raw = token_box.input_value()
    assert raw.startswith("vrt_")
    expect(page.get_by_text("will not be shown again")).to_be_visible()
    shoot(page, "profile-token")
    # Revoke through htmx, confirming the dialog.
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Revoke CRM sync").click()
    expect(page.get_by_text("No tokens yet")).to_be_visible()

    details = page.get_by_role("region", name="Your details")
    details.get_by_label("Language").select_option("ru")
    details.get_by_role("button", name="Save").click()
    expect(page.locator("html")).to_have_attribute("lang", "ru")
    expect(page.get_by_role("heading", name="Профиль")).to_be_visible()
    shoot(page, "profile-ru")


def test_admin_journey_group_member_and_grant(page: Page, live_server, cast: Cast) -> None:
    sign_in(page, live_server.url, "admin@example.com")
    page.goto(f"{live_server.url}/admin/users/")
    shoot(page, "admin-users")
    page.get_by_label("Find people").fill("support")
    expect(page.locator("#user-rows")).to_contain_text("support@example.com")
    expect(page.locator("#user-rows")).not_to_contain_text("sales@example.com")

    page.goto(f"{live_server.url}/admin/users/new/")
    page.get_by_role("button", name="Add person").click()
    expect(page.locator(".field-error").first).to_be_visible()
    shoot(page, "admin-user-new-errors")

    page.goto(f"{live_server.url}/admin/groups/")
    shoot(page, "admin-groups")
    page.get_by_label("Name").fill("Customer Success")
    page.get_by_role("button", name="Create group").click()
    expect(page.get_by_role("heading", name="Customer Success")).to_be_visible()
    page.get_by_label("Person").select_option(label="Support")
    page.get_by_role("button", name="Add member").click()
    expect(page.locator("#group-members")).to_contain_text("support@example.com")
    shoot(page, "admin-group")
    group = Group.objects.get(name="Customer Success")
    assert list(group.members.all()) == [cast.support_reader]

    page.goto(f"{live_server.url}/admin/collections/")
    shoot(page, "admin-collections")
    page.get_by_role("link", name="Manage access Sales Playbook").click()
    page.get_by_label("Group", exact=True).select_option(label="Customer Success")
    page.get_by_label("Role", exact=True).select_option("read")
    page.get_by_role("button", name="Grant access").click()
    expect(page.locator("#collection-grants .note")).to_contain_text("“Read”")
    expect(page.get_by_role("link", name="Customer Success")).to_be_visible()
    shoot(page, "admin-collection-access")
    assert cast.sales_card in access.cards_for(cast.support_reader)

    # Changing the role from the row select applies at once.
    page.get_by_label("Role of Customer Success").select_option("author")
    expect(page.locator("#collection-grants .note")).to_contain_text("“Author”")
    assert access.has_role(cast.support_reader, cast.sales_collection, "author")


def test_member_gets_403_on_admin(page: Page, live_server, cast: Cast) -> None:
    sign_in(page, live_server.url, "outsider@example.com")
    response = page.goto(f"{live_server.url}/admin/users/")
    assert response is not None and response.status == 403
    assert "sales@example.com" not in page.content()
