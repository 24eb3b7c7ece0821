"""Whatever JSON a client sends to create or edit a card, the answer is never a 500, and a
refused request changes nothing."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from verity.knowledge.models import Card

FIELDS = [
    "title",
    "content",
    "collection",
    "folders",
    "tags",
    "verifier",
    "verification_interval_days",
    "external_id",
    "version",
    "type",
    "id",
]

scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=30)
    | st.sampled_from(["", "\x00", "\ud800", "user", "group", "90", "7", "verified", "x" * 400])
)
values = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(st.sampled_from(FIELDS) | st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=10,
)
# Mostly well-formed bodies with odd values, so that many requests reach the services.
plausible = st.fixed_dictionaries(
    {"title": st.text(min_size=1, max_size=40)},
    optional={
        "content": st.text(max_size=200),
        "tags": st.lists(st.text(max_size=70), max_size=5),
        "folders": st.lists(st.integers(min_value=-1, max_value=5), max_size=3),
        "verifier": st.fixed_dictionaries(
            {"type": st.sampled_from(["user", "group"]), "id": st.integers(1, 12)}
        )
        | st.none(),
        "verification_interval_days": st.sampled_from([None, 0, 7, 30, 45, 90, 365, -7]),
        "external_id": st.none() | st.text(max_size=12),
        "collection": st.integers(min_value=1, max_value=4),
    },
)
bodies = (
    plausible
    | st.dictionaries(st.sampled_from(FIELDS), values, max_size=8)
    | values
    | st.builds(
        lambda body, type_, id_: {**body, "verifier": {"type": type_, "id": id_}},
        st.dictionaries(st.sampled_from(FIELDS), values, max_size=6),
        st.sampled_from(["user", "group", "robot"]),
        st.integers(min_value=-5, max_value=2**64),
    )
)
FUZZ = settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def _encode(body: Any) -> str:
    return json.dumps(body)


@FUZZ
@given(body=bodies, real_collection=st.booleans())
def test_random_create_bodies_never_500(
    api: Any, cast: Any, body: Any, real_collection: bool
) -> None:
    if real_collection and isinstance(body, dict):
        body["collection"] = cast.sales_collection.pk  # so that many bodies get past the lookup
    before = Card.objects.count()
    response = api("author").post("/cards", raw=_encode(body))
    event(f"status {response.status_code}")
    assert response.status_code < 500, (body, response.content)
    assert response["Content-Type"].startswith("application/json")
    if response.status_code != 201:
        assert Card.objects.count() == before
        assert "detail" in response.json()


@FUZZ
@given(body=bodies, with_version=st.booleans())
def test_random_patch_bodies_never_500(api: Any, cast: Any, body: Any, with_version: bool) -> None:
    card = Card.objects.get(pk=cast.sales_card.pk)
    if with_version and isinstance(body, dict):
        body["version"] = card.version
    response = api("author").patch(f"/cards/{card.pk}", raw=_encode(body))
    event(f"status {response.status_code}")
    assert response.status_code < 500, (body, response.content)
    assert response["Content-Type"].startswith("application/json")
    if response.status_code != 200:
        after = Card.objects.get(pk=card.pk)
        assert (after.version, after.title, after.content) == (
            card.version,
            card.title,
            card.content,
        )


query_values = st.text(max_size=20) | st.integers(min_value=-(2**70), max_value=2**70).map(str)


@FUZZ
@given(
    path=st.sampled_from(["/cards", "/search", "/tags", "/users", "/collections", "/me/queue"]),
    params=st.dictionaries(
        st.sampled_from(
            ["q", "collection", "folder", "tag", "state", "verifier", "archived", "limit", "offset"]
        ),
        query_values,
        max_size=5,
    ),
)
def test_random_query_strings_never_500(
    api: Any, cast: Any, path: str, params: dict[str, str]
) -> None:
    response = api("sales_reader").get(path, **params)
    event(f"status {response.status_code}")
    assert response.status_code < 500, (path, params, response.content)
    if response.status_code == 200 and path in ("/cards", "/search", "/me/queue"):
        # Whatever the filters, nothing from the Support collection shows up.
        ids = [
            item["card"]["id"] if "card" in item else item["id"]
            for item in response.json()["items"]
        ]
        assert cast.support_card.pk not in ids
