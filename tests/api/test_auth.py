"""Authentication (bearer tokens, the browser session), the token command and the OpenAPI docs."""

from __future__ import annotations

import json
from io import StringIO
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.test import Client

from tests.conftest import PASSWORD
from verity.accounts.models import ApiToken
from verity.accounts.services import token_create
from verity.knowledge.models import Card


def test_unauthenticated_is_401_json(anon: Any, cast: Any) -> None:
    for path in (
        "/cards",
        f"/cards/{cast.sales_card.pk}",
        "/search?q=discount",
        "/me",
        "/users",
        "/trust",
    ):
        response = anon.get(path)
        assert response.status_code == 401, path
        assert response["Content-Type"].startswith("application/json")
        assert "detail" in response.json()
    assert (
        anon.post("/cards", {"title": "x", "collection": cast.sales_collection.pk}).status_code
        == 401
    )


def test_writes_without_credentials_are_401_not_csrf_errors(cast: Any) -> None:
    client = Client(enforce_csrf_checks=True)
    for headers in ({}, {"Authorization": "Bearer vrt_wrong"}):
        response = client.post(
            "/api/v1/cards",
            json.dumps({"title": "x", "collection": cast.sales_collection.pk}),
            content_type="application/json",
            headers=headers,
        )
        assert response.status_code == 401, headers
    assert not Card.objects.filter(title="x").exists()


def test_bearer_token(cast: Any) -> None:
    token, raw = token_create(user=cast.sales_reader, name="laptop")
    client = Client()
    ok = client.get("/api/v1/me", headers={"Authorization": f"Bearer {raw}"})
    assert ok.status_code == 200
    assert ok.json()["email"] == "sales@example.com"
    token.refresh_from_db()
    assert token.last_used_at is not None
    wrong = client.get("/api/v1/me", headers={"Authorization": f"Bearer {raw}x"})
    assert wrong.status_code == 401
    assert client.get("/api/v1/me", headers={"Authorization": raw}).status_code == 401
    cast.sales_reader.is_active = False
    cast.sales_reader.save()
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {raw}"}).status_code == 401


def test_bearer_writes_need_no_csrf(cast: Any) -> None:
    _, raw = token_create(user=cast.author, name="script")
    client = Client(enforce_csrf_checks=True)
    response = client.patch(
        f"/api/v1/cards/{cast.sales_card.pk}",
        '{"version": 1, "title": "Discount rules"}',
        content_type="application/json",
        headers={"Authorization": f"Bearer {raw}"},
    )
    assert response.status_code == 200
    cast.sales_card.refresh_from_db()
    assert cast.sales_card.title == "Discount rules"


def test_session_works_for_the_web_ui(cast: Any) -> None:
    client = Client()
    assert client.login(email="author@example.com", password=PASSWORD)
    assert client.get("/api/v1/me").json()["email"] == "author@example.com"


def test_session_writes_need_csrf(cast: Any) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(cast.author)
    response = client.patch(
        f"/api/v1/cards/{cast.sales_card.pk}",
        '{"version": 1, "title": "Forged"}',
        content_type="application/json",
    )
    assert response.status_code == 403
    cast.sales_card.refresh_from_db()
    assert cast.sales_card.title == "Discount approval rules"


def test_token_command_prints_a_working_token(cast: Any) -> None:
    out, err = StringIO(), StringIO()
    call_command("token", "create", "Support@Example.com", "--name", "ci", stdout=out, stderr=err)
    raw = out.getvalue().strip()
    assert raw.startswith("vrt_")
    assert "cannot be shown again" in err.getvalue()
    stored = ApiToken.objects.get(user=cast.support_reader)
    assert stored.name == "ci"
    assert stored.token_hash != raw and raw not in stored.token_hash
    response = Client().get("/api/v1/cards", headers={"Authorization": f"Bearer {raw}"})
    assert response.status_code == 200
    assert [c["id"] for c in response.json()["items"]] == [cast.support_card.pk]

    listing = StringIO()
    call_command("token", "list", "support@example.com", stdout=listing)
    assert f"{stored.pk}\t{stored.hint}" in listing.getvalue()
    assert raw not in listing.getvalue()

    call_command("token", "revoke", str(stored.pk), stdout=StringIO())
    assert not ApiToken.objects.exists()
    response = Client().get("/api/v1/cards", headers={"Authorization": f"Bearer {raw}"})
    assert response.status_code == 401


def test_token_command_rejects_unknown_people_and_tokens(cast: Any) -> None:
    with pytest.raises(CommandError):
        call_command("token", "create", "nobody@example.com", stdout=StringIO())
    with pytest.raises(CommandError):
        call_command("token", "revoke", "987654", stdout=StringIO())
    assert not ApiToken.objects.exists()


def test_openapi_lists_the_paths(anon: Any, db: None) -> None:
    response = Client().get("/api/v1/openapi.json")
    assert response.status_code == 200
    paths = response.json()["paths"]
    for path in (
        "/api/v1/cards",
        "/api/v1/cards/{card_id}",
        "/api/v1/cards/{card_id}/verify",
        "/api/v1/cards/{card_id}/flag",
        "/api/v1/cards/{card_id}/versions",
        "/api/v1/cards/{card_id}/versions/{number}/restore",
        "/api/v1/cards/{card_id}/favorite",
        "/api/v1/cards/bulk",
        "/api/v1/collections",
        "/api/v1/collections/{collection_id}/access",
        "/api/v1/collections/{collection_id}/folders",
        "/api/v1/users",
        "/api/v1/groups/{group_id}/members",
        "/api/v1/tags",
        "/api/v1/search",
        "/api/v1/me/queue",
        "/api/v1/trust",
    ):
        assert path in paths, path
    assert "patch" in paths["/api/v1/cards/{card_id}"]
    schemes = response.json()["components"]["securitySchemes"]
    assert any(s.get("scheme") == "bearer" for s in schemes.values())


def test_docs_page(db: None, settings: Any) -> None:
    # As after `collectstatic` (which `verity serve` runs): plain storage, no manifest needed.
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    response = Client().get("/api/v1/docs")
    assert response.status_code == 200
    assert b"openapi.json" in response.content
    # Self-hosted installs may have no internet: the Swagger UI comes from our static files.
    assert b"cdn.jsdelivr" not in response.content
    assert b"/static/ninja/" in response.content


def test_my_tokens(api: Any, cast: Any) -> None:
    author = api("author")  # authenticated with a token of its own
    created = author.post("/me/tokens", {"name": "CRM sync"})
    assert created.status_code == 201
    raw = created.json()["token"]
    assert raw.startswith(created.json()["hint"])
    me = Client().get("/api/v1/me", headers={"Authorization": f"Bearer {raw}"})
    assert me.json()["email"] == "author@example.com"

    listing = author.get("/me/tokens").json()
    assert listing["count"] == 2
    assert all("token" not in t for t in listing["items"])
    assert raw not in str(listing)

    # Someone else's token is not there to revoke.
    other = api("outsider")
    assert other.get("/me/tokens").json()["count"] == 1
    assert other.delete(f"/me/tokens/{created.json()['id']}").status_code == 404
    assert ApiToken.objects.filter(pk=created.json()["id"]).exists()

    assert author.delete(f"/me/tokens/{created.json()['id']}").status_code == 200
    assert Client().get("/api/v1/me", headers={"Authorization": f"Bearer {raw}"}).status_code == 401
    assert author.post("/me/tokens", {"name": ""}).json()["errors"][0]["field"] == "name"
