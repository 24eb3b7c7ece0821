"""A small JSON client per cast member, authenticated with a personal bearer token."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

from verity.accounts.models import User
from verity.accounts.services import token_create

BASE = "/api/v1"


class Api:
    def __init__(self, user: User | None) -> None:
        self.client = Client()
        self.headers: dict[str, str] = {}
        if user is not None:
            _, raw = token_create(user=user, name="tests")
            self.headers["Authorization"] = f"Bearer {raw}"

    def _call(
        self, method: str, path: str, body: Any = None, raw: str | None = None, **params: Any
    ) -> Any:
        url = BASE + path
        call = getattr(self.client, method)
        if method == "get":
            return call(url, params, headers=self.headers)
        data = raw if raw is not None else (json.dumps(body) if body is not None else "")
        if params:
            from urllib.parse import urlencode

            url += "?" + urlencode(params)
        return call(url, data, content_type="application/json", headers=self.headers)

    def get(self, path: str, **params: Any) -> Any:
        return self._call("get", path, **params)

    def post(self, path: str, body: Any = None, raw: str | None = None) -> Any:
        return self._call("post", path, body, raw)

    def patch(self, path: str, body: Any = None, raw: str | None = None) -> Any:
        return self._call("patch", path, body, raw)

    def put(self, path: str, body: Any = None) -> Any:
        return self._call("put", path, body)

    def delete(self, path: str, body: Any = None) -> Any:
        return self._call("delete", path, body)


@pytest.fixture
def api(cast: Any) -> Any:
    """api("curator").get("/cards") — one authenticated client per cast member."""
    clients: dict[str, Api] = {}

    def as_(who: str) -> Api:
        if who not in clients:
            clients[who] = Api(getattr(cast, who))
        return clients[who]

    return as_


@pytest.fixture
def anon(db: None) -> Api:
    return Api(None)
