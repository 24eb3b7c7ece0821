from __future__ import annotations

from django.test import Client

HTMX = {"HX-Request": "true"}


def client_for(user: object) -> Client:
    client = Client()
    client.force_login(user)  # type: ignore[arg-type]
    return client
