"""The metrics API: shape, overrides, 400s naming the parameter, 403s, definitions."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from tests.analytics.engine.conftest import Crm
from verity.analytics.metrics import DIMENSIONS


@pytest.fixture
def deals(crm: Crm, cast: Any) -> None:
    east = crm.person(hire=date(2024, 2, 1), team="East")
    west = crm.person(hire=date(2025, 2, 1), team="West")
    rows = []
    for i in range(12):
        for rep in (east, west):
            outcome = "won" if (i + rep.pk) % 3 else "lost"
            rows.append(
                {
                    "owner": rep,
                    "outcome": outcome,
                    "amount": 1000 + 100 * i,
                    "created": date(2025, 10, 1),
                    "close": date(2026, 1 + i % 5, 10),
                }
            )
    rows += [{"owner": east, "outcome": "open", "created": date(2026, 3, 1)}] * 4
    crm.deals(rows)


def test_metric_shape(api: Any, deals: None) -> None:
    response = api("admin").get("/analytics/metrics/win_rate", by="team")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["metric"] == "win_rate" and body["by"] == "team"
    assert body["definition"]["version"] == 1 and body["definition"]["value"] == "count"
    assert [r["key"] for r in body["rows"]] == ["East", "West"]
    row = body["rows"][0]
    assert set(row) >= {"key", "n", "estimate", "ci_low", "ci_high", "method"}
    assert row["n"] == 12 and row["method"] == "wilson"
    assert row["ci_low"] <= row["estimate"] <= row["ci_high"]


@pytest.mark.parametrize(
    "metric",
    [
        "win_rate",
        "sales_cycle_days",
        "deal_size",
        "time_to_first_deal_days",
        "ramp_time_days",
        "retention_2y",
        "nps",
        "days_in_stage",
        "new_product",
    ],
)
def test_every_metric_and_dimension_answers(api: Any, deals: None, metric: str) -> None:
    client = api("curator")  # enablement: an analytics viewer
    for by in DIMENSIONS:
        if (
            by == "program"
            or (
                by == "product"
                and metric in ("time_to_first_deal_days", "ramp_time_days", "retention_2y", "nps")
            )
            or (metric == "nps" and by == "rep")
        ):
            continue
        response = client.get(f"/analytics/metrics/{metric}", by=by)
        assert response.status_code == 200, (metric, by, response.content)
        assert response.json()["metric"] == metric


def test_overrides_change_the_definition_used(api: Any, deals: None) -> None:
    client = api("admin")
    body = client.get("/analytics/metrics/deal_size", statistic="median").json()
    assert body["definition"]["statistic"] == "median"
    assert body["definition"]["overrides"] == {"statistic": "median"}
    assert body["rows"][0]["method"] == "quantile_binomial"
    body = client.get("/analytics/metrics/win_rate", value="amount").json()
    assert body["rows"][0]["method"] == "ratio_delta"
    body = client.get("/analytics/metrics/sales_cycle_days", population="all").json()
    assert body["rows"][0]["method"] == "kaplan_meier"
    body = client.get(
        "/analytics/metrics/win_rate", **{"from": "2026-01-01", "to": "2026-01-31"}
    ).json()
    assert body["rows"][0]["n"] == 6 and body["from"] == "2026-01-01"


@pytest.mark.parametrize(
    ("path", "params", "field"),
    [
        ("/analytics/metrics/win_rate", {"by": "galaxy"}, "by"),
        ("/analytics/metrics/win_rate", {"value": "weight"}, "value"),
        ("/analytics/metrics/win_rate", {"colour": "red"}, "colour"),
        ("/analytics/metrics/win_rate", {"from": "not-a-date"}, "from"),
        ("/analytics/metrics/win_rate", {"from": "2026-02-01", "to": "2026-01-01"}, "to"),
        ("/analytics/metrics/win_rate", {"program": "abc"}, "program"),
        ("/analytics/metrics/win_rate", {"by": "program", "program": "999999"}, "program"),
        ("/analytics/metrics/win_rate", {"by": "program"}, "program"),  # none completed yet
        ("/analytics/metrics/retention_2y", {"by": "product"}, "by"),
        ("/analytics/metrics/nps", {"by": "rep"}, "by"),
        (
            "/analytics/metrics/sales_cycle_days",
            {"population": "all", "statistic": "mean"},
            "statistic",
        ),
        ("/analytics/metrics/happiness", {}, "metric"),
    ],
)
def test_bad_input_is_400_naming_the_parameter(
    api: Any, deals: None, path: str, params: dict[str, str], field: str
) -> None:
    response = api("admin").get(path, **params)
    assert response.status_code == 400, response.content
    body = response.json()
    assert body["errors"][0]["field"] == field, body
    assert body["detail"]


@pytest.mark.parametrize("who", ["sales_reader", "support_reader", "outsider", "author"])
def test_non_viewers_get_403(api: Any, deals: None, who: str) -> None:
    client = api(who)
    assert client.get("/analytics/metrics").status_code == 403
    assert client.get("/analytics/metrics/win_rate").status_code == 403
    assert client.get("/analytics/definitions/win_rate").status_code == 403
    assert (
        client.put("/analytics/definitions/win_rate", {"params": {"min_n": 3}}).status_code == 403
    )


def test_anonymous_gets_401(anon_api: Any) -> None:
    assert anon_api.get("/analytics/metrics/win_rate").status_code == 401


@pytest.fixture
def anon_api(db: None) -> Any:
    from tests.conftest import Api

    return Api(None)


def test_list_shows_definitions_in_force(api: Any, deals: None) -> None:
    body = api("manager").get("/analytics/metrics").json()  # leadership
    by_key = {m["metric"]: m for m in body["items"]}
    assert "rep_ltv" not in by_key
    assert by_key["win_rate"]["definition"]["version"] == 1
    assert by_key["win_rate"]["parameters"]["value"]["choices"] == ["count", "amount"]
    assert by_key["win_rate"]["parameters"]["value"]["overridable"] is True
    assert "product" not in by_key["retention_2y"]["dimensions"]
    assert "stage" in by_key["days_in_stage"]["dimensions"]


def test_put_definition_creates_a_version_shown_with_results(api: Any, deals: None) -> None:
    admin = api("admin")
    response = admin.put(
        "/analytics/definitions/win_rate", {"params": {"min_n": 20}, "note": "stricter"}
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["in_force"]["version"] == 2 and body["in_force"]["min_n"] == 20
    assert [h["version"] for h in body["history"]] == [2, 1]
    assert body["history"][0]["note"] == "stricter"
    result = admin.get("/analytics/metrics/win_rate", by="team").json()
    assert result["definition"]["version"] == 2
    assert all(r["insufficient"] and r["estimate"] is None for r in result["rows"])  # 12 < 20
    bad = admin.put("/analytics/definitions/win_rate", {"params": {"min_n": "many"}})
    assert bad.status_code == 400 and bad.json()["errors"][0]["field"] == "min_n"
    bad = admin.put("/analytics/definitions/win_rate", {"params": {"flavour": 1}})
    assert bad.status_code == 400 and bad.json()["errors"][0]["field"] == "flavour"
    # Enablement may read definitions but not change them.
    assert api("curator").get("/analytics/definitions/win_rate").status_code == 200
    assert (
        api("curator").put("/analytics/definitions/win_rate", {"params": {"min_n": 3}}).status_code
        == 403
    )


def test_openapi_documents_the_endpoints(client: Any) -> None:
    paths = client.get("/api/v1/openapi.json").json()["paths"]
    assert "/api/v1/analytics/metrics" in paths
    assert "/api/v1/analytics/metrics/{metric}" in paths
    assert {"get", "put"} <= set(paths["/api/v1/analytics/definitions/{metric}"])
