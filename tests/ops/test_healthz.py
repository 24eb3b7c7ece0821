"""/healthz: what load balancers and systemd watchdogs poll."""

from __future__ import annotations

from unittest import mock

import pytest
from django.db import connection
from django.test import Client


@pytest.mark.django_db
def test_healthz_answers_200_with_the_database_up(client: Client) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": connection.vendor}
    assert "no-cache" in response["Cache-Control"]


@pytest.mark.django_db
def test_healthz_answers_503_when_the_database_query_fails(client: Client) -> None:
    broken = mock.MagicMock()
    broken.__enter__.return_value.execute.side_effect = RuntimeError("connection refused")
    with mock.patch("verity.core.views.connection") as fake_connection:
        fake_connection.cursor.return_value = broken
        response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["status"] == "error"
    assert "connection refused" in response.json()["database"]


def test_healthz_reveals_no_content_to_an_outsider(cast, client: Client) -> None:
    """Public by design (probes carry no login), so it must carry nothing but health."""
    client.force_login(cast.outsider)
    body = client.get("/healthz").content.decode()
    assert set(client.get("/healthz").json()) == {"status", "database"}
    for secret in (cast.sales_card.title, cast.support_card.title, cast.admin.email):
        assert secret not in body
