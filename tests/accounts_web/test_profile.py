"""The profile: name, language, password and personal API tokens."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.urls import reverse

from tests.conftest import PASSWORD, Cast
from verity.accounts.models import ApiToken
from verity.accounts.services import token_authenticate, token_create

pytestmark = pytest.mark.django_db


@pytest.fixture
def reader(client: Client, cast: Cast) -> Client:
    client.force_login(cast.sales_reader)
    return client


def test_profile_needs_sign_in(client: Client) -> None:
    response = client.get(reverse("profile"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_profile_saves_name_and_language_and_then_speaks_russian(
    reader: Client, cast: Cast
) -> None:
    response = reader.post(reverse("profile"), {"name": "  Sam   Seller ", "language": "ru"})
    assert response.status_code == 302
    cast.sales_reader.refresh_from_db()
    assert cast.sales_reader.name == "Sam Seller"
    assert cast.sales_reader.language == "ru"
    page = reader.get(reverse("profile"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert '<html lang="ru">' in page
    assert "API-токены" in page
    assert "Профиль сохранён." in page


def test_profile_browser_default_follows_accept_language(reader: Client, cast: Cast) -> None:
    reader.post(reverse("profile"), {"name": "Sam", "language": ""})
    cast.sales_reader.refresh_from_db()
    assert cast.sales_reader.language == ""
    assert (
        '<html lang="ru">'
        in reader.get(reverse("profile"), HTTP_ACCEPT_LANGUAGE="ru").content.decode()
    )
    assert (
        '<html lang="en">'
        in reader.get(reverse("profile"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    )


def test_profile_rejects_unknown_language_beside_the_field(reader: Client, cast: Cast) -> None:
    response = reader.post(reverse("profile"), {"name": "Typed name", "language": "de"})
    assert response.status_code == 400
    assert "language" in response.context["profile_form"].errors
    assert 'value="Typed name"' in response.content.decode()
    cast.sales_reader.refresh_from_db()
    assert cast.sales_reader.language == ""


def test_password_change(reader: Client, cast: Cast) -> None:
    new = "a-much-longer-new-passphrase-42"
    bad = reader.post(
        reverse("password_change"),
        {"old_password": "wrong", "new_password1": new, "new_password2": new},
    )
    assert bad.status_code == 400
    assert "old_password" in bad.context["password_form"].errors
    ok = reader.post(
        reverse("password_change"),
        {"old_password": PASSWORD, "new_password1": new, "new_password2": new},
    )
    assert ok.status_code == 302
    cast.sales_reader.refresh_from_db()
    assert cast.sales_reader.check_password(new)
    # Still signed in on this device after the change.
    assert reader.get(reverse("profile")).status_code == 200


def raw_token_in(html: str) -> str:
    match = re.search(r'value="(vrt_[^"]+)"', html)
    assert match, "the raw token is shown"
    return match.group(1)


def test_token_create_shows_raw_token_once_and_it_authenticates(reader: Client, cast: Cast) -> None:
    response = reader.post(reverse("token_create"), {"name": "CRM sync"})
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    html = response.content.decode()
    raw = raw_token_in(html)
    assert "will not be shown again" in html
    assert token_authenticate(raw) == cast.sales_reader
    # The bearer token works against the API.
    api = Client()
    me = api.get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert me.status_code == 200
    assert me.json()["email"] == "sales@example.com"
    # The next page view lists the token by name and hint but never shows it again.
    later = reader.get(reverse("profile")).content.decode()
    assert "CRM sync" in later
    assert raw[:10] in later
    assert raw not in later


def test_token_create_by_htmx_returns_the_tokens_fragment(reader: Client) -> None:
    response = reader.post(reverse("token_create"), {"name": "Laptop"}, HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in html
    raw_token_in(html)


def test_token_create_needs_a_name(reader: Client, cast: Cast) -> None:
    response = reader.post(reverse("token_create"), {"name": "   "})
    assert response.status_code == 400
    assert "name" in response.context["token_form"].errors
    assert not ApiToken.objects.filter(user=cast.sales_reader).exists()


def test_token_revoke_stops_it(reader: Client, cast: Cast) -> None:
    token, raw = token_create(user=cast.sales_reader, name="Old script")
    assert token_authenticate(raw) == cast.sales_reader
    response = reader.post(reverse("token_revoke", args=[token.pk]))
    assert response.status_code == 302
    assert token_authenticate(raw) is None
    api = Client()
    assert api.get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {raw}").status_code == 401


def test_outsider_cannot_see_or_revoke_someone_elses_token(client: Client, cast: Cast) -> None:
    token, raw = token_create(user=cast.sales_reader, name="Private token")
    client.force_login(cast.outsider)
    page = client.get(reverse("profile")).content.decode()
    assert "Private token" not in page
    assert token.hint not in page
    assert client.post(reverse("token_revoke", args=[token.pk])).status_code == 404
    assert token_authenticate(raw) == cast.sales_reader


def test_token_revoke_needs_post(reader: Client, cast: Cast) -> None:
    token, _ = token_create(user=cast.sales_reader, name="Keep")
    assert reader.get(reverse("token_revoke", args=[token.pk])).status_code == 405
    assert ApiToken.objects.filter(pk=token.pk).exists()
