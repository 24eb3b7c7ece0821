"""Errors speak the product's language instead of Django's bare defaults."""

from __future__ import annotations


def test_unreadable_card_is_a_friendly_404_that_leaks_nothing(client, cast, settings):
    settings.DEBUG = False
    client.force_login(cast.outsider)
    response = client.get(f"/cards/{cast.sales_card.pk}/")
    assert response.status_code == 404
    body = response.content.decode()
    assert "Nothing here" in body
    assert cast.sales_card.title not in body


def test_forbidden_action_is_a_friendly_403(client, cast, settings):
    settings.DEBUG = False
    client.force_login(cast.sales_reader)
    response = client.get("/admin/users/")
    assert response.status_code == 403
    assert "You can't do this here" in response.content.decode()
