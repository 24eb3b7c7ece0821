"""Signing in by email, wrong passwords, the rate limit per email and per IP, signing out."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.urls import reverse

from tests.conftest import PASSWORD, Cast

pytestmark = pytest.mark.django_db

RATE = "3/5m"


@pytest.fixture(autouse=True)
def _tight_rate(settings: object) -> None:
    settings.VERITY_LOGIN_RATE = RATE  # type: ignore[attr-defined]


def post_login(client: Client, email: str, password: str, ip: str = "10.0.0.1", **extra: str):
    return client.post(
        reverse("login"), {"email": email, "password": password, **extra}, REMOTE_ADDR=ip
    )


def signed_in_email(client: Client) -> str | None:
    response = client.get(reverse("profile"))
    if response.status_code != 200:
        return None
    return response.context["user"].email


def test_login_page_renders_for_anonymous(client: Client) -> None:
    response = client.get(reverse("login"))
    assert response.status_code == 200
    assert b'name="email"' in response.content
    assert b'name="password"' in response.content


def test_login_by_email_signs_in(client: Client, cast: Cast) -> None:
    response = post_login(client, "Sales@Example.com ", PASSWORD)
    assert response.status_code == 302
    assert signed_in_email(client) == "sales@example.com"


def test_login_follows_safe_next_only(client: Client, cast: Cast) -> None:
    response = post_login(client, "sales@example.com", PASSWORD, next="/profile/")
    assert response["Location"] == "/profile/"
    client.logout()
    response = post_login(client, "sales@example.com", PASSWORD, next="https://evil.example/")
    assert "evil.example" not in response["Location"]


def test_wrong_password_fails_and_keeps_email(client: Client, cast: Cast) -> None:
    response = post_login(client, "sales@example.com", "wrong-password")
    assert response.status_code == 200
    assert "do not match" in response.content.decode()
    assert 'value="sales@example.com"' in response.content.decode()
    assert signed_in_email(client) is None


def test_inactive_user_cannot_sign_in(client: Client, cast: Cast) -> None:
    cast.sales_reader.is_active = False
    cast.sales_reader.save(update_fields=["is_active"])
    response = post_login(client, "sales@example.com", PASSWORD)
    assert response.status_code == 200
    assert signed_in_email(client) is None


def test_missing_fields_are_reported_beside_the_field(client: Client, cast: Cast) -> None:
    response = client.post(reverse("login"), {"email": "not-an-email", "password": ""})
    assert response.status_code == 200
    form = response.context["form"]
    assert "email" in form.errors and "password" in form.errors
    assert 'value="not-an-email"' in response.content.decode()


def test_rate_limit_blocks_the_email_even_with_the_right_password(
    client: Client, cast: Cast
) -> None:
    for _ in range(3):
        assert post_login(client, "sales@example.com", "nope").status_code == 200
    response = post_login(client, "sales@example.com", PASSWORD)
    assert response.status_code == 429
    assert "Too many sign-in attempts" in response.content.decode()
    assert signed_in_email(client) is None
    # The block follows the email to another address...
    assert post_login(client, "sales@example.com", PASSWORD, ip="10.9.9.9").status_code == 429
    # ...but another person from a fresh address can still sign in.
    other = Client()
    assert post_login(other, "support@example.com", PASSWORD, ip="10.9.9.8").status_code == 302


def test_rate_limit_blocks_the_ip_for_every_email(client: Client, cast: Cast) -> None:
    for n in range(3):
        post_login(client, f"guess{n}@example.com", "nope", ip="10.0.0.66")
    response = post_login(client, "support@example.com", PASSWORD, ip="10.0.0.66")
    assert response.status_code == 429
    assert signed_in_email(client) is None
    # Same person, different address: allowed.
    assert post_login(client, "support@example.com", PASSWORD, ip="10.0.0.67").status_code == 302


def test_blocked_answer_does_not_reveal_whether_the_email_exists(
    client: Client, cast: Cast
) -> None:
    for email in ("sales@example.com", "nobody@example.com"):
        for _ in range(3):
            post_login(client, email, "nope", ip="10.1.1.1" if "sales" in email else "10.1.1.2")
    known = post_login(client, "sales@example.com", "nope", ip="10.2.2.2")
    unknown = post_login(client, "nobody@example.com", "nope", ip="10.2.2.3")
    assert known.status_code == unknown.status_code == 429

    def strip(body: bytes, email: str) -> str:
        text = body.decode().replace(email, "EMAIL")
        return re.sub(r"[A-Za-z0-9]{64}", "CSRF", text)  # per-response CSRF tokens

    assert strip(known.content, "sales@example.com") == strip(unknown.content, "nobody@example.com")


def test_successful_login_resets_the_email_counter(client: Client, cast: Cast) -> None:
    for _ in range(2):
        post_login(client, "sales@example.com", "nope", ip=f"10.3.3.{_}")
    assert post_login(client, "sales@example.com", PASSWORD, ip="10.3.3.9").status_code == 302
    client.logout()
    for _ in range(2):
        post_login(client, "sales@example.com", "nope", ip=f"10.4.4.{_}")
    # Two fresh failures after the reset: still under the limit of three.
    assert post_login(client, "sales@example.com", PASSWORD, ip="10.4.4.9").status_code == 302


def test_logout_needs_post_and_signs_out(client: Client, cast: Cast) -> None:
    client.force_login(cast.sales_reader)
    assert client.get(reverse("logout")).status_code == 405
    assert signed_in_email(client) == "sales@example.com"
    response = client.post(reverse("logout"))
    assert response.status_code == 302
    assert response["Location"] == reverse("login")
    assert signed_in_email(client) is None


def test_login_page_offers_a_language_switch_and_renders_in_russian(client: Client) -> None:
    response = client.get(reverse("login"))
    assert b'action="/i18n/setlang/"' in response.content
    client.post("/i18n/setlang/", {"language": "ru", "next": "/login/"})
    response = client.get(reverse("login"))
    assert "Войти" in response.content.decode()
