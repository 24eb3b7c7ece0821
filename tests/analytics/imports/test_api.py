"""POST /api/v1/analytics/import/{kind}: admins only, row errors by index and field, 400 and
nothing written when invalid, counts on success."""

from __future__ import annotations

import pytest

from tests.conftest import Api
from verity.analytics import imports
from verity.analytics.models import ImportRun, Opportunity

pytestmark = pytest.mark.django_db

RECORDS = [
    {
        "id": "API-1",
        "owner": "sales@example.com",
        "amount": 1200.5,
        "stage": "Closed Won",
        "created_date": "2025-01-01",
        "close_date": "2025-02-01",
        "product": "Forecasting",
    },
    {
        "id": "API-2",
        "owner": "sales@example.com",
        "amount": "300",
        "stage": "Prospecting",
        "created_date": "2025-01-05",
    },
]


def test_anonymous_is_refused(cast) -> None:
    response = Api(None).post("/analytics/import/opportunities", {"records": RECORDS})
    assert response.status_code == 401


@pytest.mark.parametrize("who", ["curator", "manager", "sales_reader", "outsider"])
def test_only_admins_import(api, who) -> None:
    response = api(who).post("/analytics/import/opportunities", {"records": RECORDS})
    assert response.status_code == 403
    assert not Opportunity.objects.exists()


def test_success_counts_and_reimport(api) -> None:
    response = api("admin").post("/analytics/import/opportunities", {"records": RECORDS})
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["records"], body["created"], body["updated"], body["errors"]) == (2, 2, 0, [])
    assert ImportRun.objects.get(pk=body["run"]).source == "api"
    again = api("admin").post("/analytics/import/opportunities", {"records": RECORDS[:1]})
    assert (again.json()["created"], again.json()["updated"]) == (0, 1)
    assert Opportunity.objects.count() == 2


def test_errors_by_index_and_field_and_nothing_written(api) -> None:
    records = [
        *RECORDS,
        {**RECORDS[0], "id": "API-3", "stage": "Dunno"},
        {**RECORDS[0], "owner": "ghost@example.com"},
    ]
    response = api("admin").post("/analytics/import/opportunities", {"records": records})
    assert response.status_code == 400
    body = response.json()
    assert "nothing was imported" in body["detail"]
    problems = {(e["index"], e["field"]) for e in body["errors"]}
    assert problems == {(2, "stage"), (3, "id"), (3, "owner")}
    assert not Opportunity.objects.exists()


def test_skip_invalid_stage_map_and_dry_run(api) -> None:
    records = [
        *RECORDS,
        {**RECORDS[0], "id": "API-3", "stage": "Signed"},
        {**RECORDS[0], "id": "API-4", "owner": "ghost@example.com"},
    ]
    dry = api("admin").post(
        "/analytics/import/opportunities",
        {"records": records, "stage_map": {"Signed": "won"}, "skip_invalid": True, "dry_run": True},
    )
    assert dry.status_code == 200 and dry.json()["created"] == 3 and not dry.json()["written"]
    assert not Opportunity.objects.exists()
    response = api("admin").post(
        "/analytics/import/opportunities",
        {"records": records, "stage_map": {"Signed": "won"}, "skip_invalid": True},
    )
    body = response.json()
    assert (body["created"], body["skipped"], body["error_count"]) == (3, 1, 1)
    assert Opportunity.objects.get(external_id="API-3").outcome == "won"


def test_unknown_fields_and_bad_stage_map(api) -> None:
    response = api("admin").post(
        "/analytics/import/people", {"records": [{"email": "x@example.com", "salary": 1}]}
    )
    assert response.status_code == 400 and "salary" in response.json()["detail"] + str(
        response.json()["errors"]
    )
    response = api("admin").post(
        "/analytics/import/opportunities", {"records": [], "stage_map": {"X": "maybe"}}
    )
    assert response.status_code == 422


def test_unknown_kind(api) -> None:
    assert api("admin").post("/analytics/import/deals", {"records": []}).status_code == 422


def test_batch_limit(api, monkeypatch) -> None:
    monkeypatch.setattr(imports, "MAX_API_RECORDS", 1)
    response = api("admin").post("/analytics/import/opportunities", {"records": RECORDS})
    assert response.status_code == 422
    assert "at most 1" in response.json()["detail"]


def test_people_over_the_api(api) -> None:
    response = api("admin").post(
        "/analytics/import/people",
        {
            "records": [
                {"email": "lead@example.com", "name": "Lead", "job_function": "Leadership"},
                {
                    "email": "new@example.com",
                    "name": "New",
                    "manager_email": "lead@example.com",
                    "hire_date": "2025-01-01",
                },
            ]
        },
    )
    assert response.status_code == 200, response.content
    assert response.json()["created"] == 2
