"""People, groups and memberships over the API: readable by anyone signed in, changed by
site admins only."""

from __future__ import annotations

from typing import Any

from verity.accounts.models import Group, User


def test_me(api: Any, cast: Any) -> None:
    body = api("author").get("/me").json()
    assert body["email"] == "author@example.com"
    assert body["manager"] == cast.manager.pk
    assert body["job_function"] == "sales"
    assert sorted(body["groups"]) == sorted(g.pk for g in cast.author.member_groups.all())


def test_users_list_and_detail(api: Any, cast: Any) -> None:
    body = api("sales_reader").get("/users", limit=3).json()
    assert body["count"] == User.objects.count() == 7
    assert len(body["items"]) == 3
    assert set(body["items"][0]) >= {
        "id",
        "email",
        "name",
        "job_function",
        "manager",
        "hire_date",
        "site_role",
    }
    detail = api("sales_reader").get(f"/users/{cast.author.pk}").json()
    assert detail["manager"] == cast.manager.pk
    assert api("sales_reader").get("/users/987654").status_code == 404
    assert "password" not in detail
    found = api("sales_reader").get("/users", q="curator").json()
    assert [u["email"] for u in found["items"]] == ["curator@example.com"]


def test_admin_creates_and_updates_users(api: Any, cast: Any) -> None:
    admin = api("admin")
    response = admin.post(
        "/users",
        {
            "email": "New.Rep@Example.com",
            "name": "New Rep",
            "job_function": "sales",
            "manager": cast.manager.pk,
            "hire_date": "2026-10-01",
            "groups": [cast.sales.pk],
        },
    )
    assert response.status_code == 201, response.content
    new = User.objects.get(email="new.rep@example.com")
    assert new.manager == cast.manager
    assert list(new.member_groups.all()) == [cast.sales]
    response = admin.patch(f"/users/{new.pk}", {"job_function": "success", "manager": None})
    assert response.status_code == 200
    assert response.json()["job_function"] == "success"
    assert response.json()["manager"] is None

    bad = admin.post("/users", {"email": "not-an-email"})
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["field"] == "email"
    bad = admin.post("/users", {"email": "x@example.com", "manager": 987654})
    assert bad.json()["errors"][0]["field"] == "manager"
    bad = admin.post("/users", {"email": "x@example.com", "job_function": "pilot"})
    assert bad.json()["errors"][0]["field"] == "job_function"
    bad = admin.post("/users", {"email": "x@example.com", "password": "123"})
    assert bad.json()["errors"][0]["field"] == "password"
    cycle = admin.patch(f"/users/{cast.manager.pk}", {"manager": cast.author.pk})
    assert cycle.status_code == 422
    assert cycle.json()["errors"][0]["field"] == "manager"


def test_members_cannot_change_people(api: Any, cast: Any) -> None:
    for who in ("curator", "outsider"):
        client = api(who)
        assert client.post("/users", {"email": "sneaky@example.com"}).status_code == 403
        assert client.patch(f"/users/{cast.outsider.pk}", {"site_role": "admin"}).status_code == 403
        assert client.post("/groups", {"name": "Sneaky"}).status_code == 403
        assert client.patch(f"/groups/{cast.sales.pk}", {"name": "Mine"}).status_code == 403
        assert client.put(f"/groups/{cast.sales.pk}/members/{cast.outsider.pk}").status_code == 403
    assert not User.objects.filter(email="sneaky@example.com").exists()
    cast.outsider.refresh_from_db()
    assert cast.outsider.site_role == "member"
    assert not cast.sales.members.filter(pk=cast.outsider.pk).exists()
    assert not Group.objects.filter(name="Sneaky").exists()


def test_groups_and_members(api: Any, cast: Any) -> None:
    admin = api("admin")
    listing = api("outsider").get("/groups").json()
    assert {g["name"] for g in listing["items"]} == {"Sales", "Support", "Enablement", "Sales SMEs"}
    sales = next(g for g in listing["items"] if g["name"] == "Sales")
    assert sales["member_count"] == 3

    created = admin.post("/groups", {"name": "Leadership", "description": "Managers"})
    assert created.status_code == 201
    gid = created.json()["id"]
    assert admin.patch(f"/groups/{gid}", {"name": "Leaders"}).json()["name"] == "Leaders"
    assert admin.post("/groups", {"name": "sales"}).json()["errors"][0]["field"] == "name"

    assert admin.put(f"/groups/{gid}/members/{cast.manager.pk}").status_code == 200
    members = admin.get(f"/groups/{gid}/members").json()
    assert [m["email"] for m in members["items"]] == ["manager@example.com"]
    assert admin.get(f"/groups/{gid}").json()["member_count"] == 1
    assert admin.delete(f"/groups/{gid}/members/{cast.manager.pk}").status_code == 200
    assert admin.get(f"/groups/{gid}/members").json()["count"] == 0
    assert admin.put(f"/groups/{gid}/members/987654").status_code == 404
    assert admin.put(f"/groups/987654/members/{cast.manager.pk}").status_code == 404
