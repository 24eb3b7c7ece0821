"""The shared cast: admin, curator, author (SME), reader in Sales, reader in Support,
manager, outsider. Every access test checks the outsider sees nothing."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Any

import pytest
from django.core.cache import cache
from django.test import Client

from verity.accounts.models import Group, JobFunction, SiteRole, User
from verity.accounts.services import token_create
from verity.knowledge import services
from verity.knowledge.models import Card, Collection

# Playwright runs an event loop in the test thread; Django's ORM calls from the test body
# are still synchronous and safe.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

PASSWORD = "correct-horse-battery-staple"


@dataclass
class Cast:
    admin: User
    curator: User
    author: User
    sales_reader: User
    support_reader: User
    manager: User
    outsider: User
    sales: Group
    support: Group
    enablement: Group
    sales_collection: Collection
    support_collection: Collection
    sales_card: Card
    support_card: Card


def make_user(email: str, **extra: object) -> User:
    return User.objects.create_user(email, PASSWORD, name=email.split("@")[0].title(), **extra)


@pytest.fixture(autouse=True)
def _clear_cache(db: None) -> None:
    cache.clear()


@pytest.fixture(autouse=True)
def _fast_test_settings(settings: object) -> None:
    # Jobs run at commit time, so tests see their effects without a worker.
    settings.VERITY_RUN_JOBS_INLINE = True  # type: ignore[attr-defined]


@pytest.fixture
def cast(db: None) -> Cast:
    admin = make_user("admin@example.com", site_role=SiteRole.ADMIN, is_staff=True)
    manager = make_user("manager@example.com", job_function=JobFunction.LEADERSHIP)
    curator = make_user("curator@example.com", job_function=JobFunction.ENABLEMENT)
    author = make_user("author@example.com", job_function=JobFunction.SALES, manager=manager)
    sales_reader = make_user("sales@example.com", job_function=JobFunction.SALES, manager=manager)
    support_reader = make_user("support@example.com", job_function=JobFunction.SUPPORT)
    outsider = make_user("outsider@example.com")

    sales = Group.objects.create(name="Sales")
    support = Group.objects.create(name="Support")
    enablement = Group.objects.create(name="Enablement")
    authors = Group.objects.create(name="Sales SMEs")
    sales.members.add(sales_reader, author, manager)
    support.members.add(support_reader)
    enablement.members.add(curator)
    authors.members.add(author)

    sales_collection = services.collection_create(user=admin, name="Sales Playbook")
    support_collection = services.collection_create(user=admin, name="Support Runbooks")
    for collection in (sales_collection, support_collection):
        services.collection_grant(
            user=admin, collection=collection, group=enablement, role="curate"
        )
    services.collection_grant(user=admin, collection=sales_collection, group=sales, role="read")
    services.collection_grant(user=admin, collection=sales_collection, group=authors, role="author")
    services.collection_grant(user=admin, collection=support_collection, group=support, role="read")

    sales_card = services.card_create(
        user=author,
        collection=sales_collection,
        title="Discount approval rules",
        content="Up to **15%** needs no approval; above that ask the deal desk.",
        tags=["pricing", "discounts"],
        verifier_user=author,
    )
    support_card = services.card_create(
        user=curator,
        collection=support_collection,
        title="Refund escalation",
        content="Refunds above $500 go to the support lead.",
        tags=["refunds"],
        verifier_user=curator,
    )
    return Cast(
        admin=admin,
        curator=curator,
        author=author,
        sales_reader=sales_reader,
        support_reader=support_reader,
        manager=manager,
        outsider=outsider,
        sales=sales,
        support=support,
        enablement=enablement,
        sales_collection=sales_collection,
        support_collection=support_collection,
        sales_card=sales_card,
        support_card=support_card,
    )


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict) -> dict:
    """Drive Debian's Chromium; Playwright's own browser download cannot work offline."""
    return {
        **browser_type_launch_args,
        "executable_path": os.environ.get("VERITY_CHROMIUM", "/usr/bin/chromium"),
        "args": [
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
        ],
    }


# ---------------------------------------------------------------- API clients

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
