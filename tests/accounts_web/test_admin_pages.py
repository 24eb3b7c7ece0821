"""Admin pages: people, groups, members and collection access (site admins only)."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import PASSWORD, Cast
from verity.accounts import access
from verity.accounts.models import Group, JobFunction, SiteRole, User
from verity.knowledge import services as knowledge_services
from verity.knowledge.models import Collection, CollectionAccess

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin(client: Client, cast: Cast) -> Client:
    client.force_login(cast.admin)
    return client


def admin_urls(cast: Cast) -> list[str]:
    return [
        reverse("admin_home"),
        reverse("admin_users"),
        reverse("admin_user_create"),
        reverse("admin_user_edit", args=[cast.sales_reader.pk]),
        reverse("admin_user_password", args=[cast.sales_reader.pk]),
        reverse("admin_groups"),
        reverse("admin_group_detail", args=[cast.sales.pk]),
        reverse("admin_group_members", args=[cast.sales.pk]),
        reverse("admin_collections"),
        reverse("admin_collection_access", args=[cast.sales_collection.pk]),
    ]


@pytest.mark.parametrize("who", ["sales_reader", "curator", "manager", "author", "outsider"])
def test_admin_pages_are_forbidden_to_members(client: Client, cast: Cast, who: str) -> None:
    client.force_login(getattr(cast, who))
    for url in admin_urls(cast):
        for response in (client.get(url), client.post(url, {"name": "Sneaky", "user": "1"})):
            assert response.status_code in (403, 405), url
            body = response.content.decode()
            assert "Sales Playbook" not in body and "sales@example.com" not in body
    assert not Group.objects.filter(name="Sneaky").exists()
    assert not Collection.objects.filter(name="Sneaky").exists()


def test_admin_pages_send_signed_out_people_to_login(client: Client, cast: Cast) -> None:
    for url in admin_urls(cast):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("login"))


def test_outsider_posting_a_grant_changes_nothing(client: Client, cast: Cast) -> None:
    client.force_login(cast.outsider)
    outsider_group = Group.objects.create(name="Outsiders")
    outsider_group.members.add(cast.outsider)
    url = reverse("admin_collection_access", args=[cast.sales_collection.pk])
    response = client.post(url, {"action": "add", "group": outsider_group.pk, "role": "curate"})
    assert response.status_code == 403
    assert not access.cards_for(cast.outsider).exists()


def test_every_admin_page_renders_for_the_admin(admin: Client, cast: Cast) -> None:
    for url in admin_urls(cast):
        if url.endswith(("/members/", "/password/")):
            continue  # POST only
        response = admin.get(url, follow=True)
        assert response.status_code == 200, url


# ---------------------------------------------------------------- people


def test_admin_creates_a_user_who_can_then_sign_in(admin: Client, cast: Cast) -> None:
    response = admin.post(
        reverse("admin_user_create"),
        {
            "email": "New.Rep@Example.com",
            "name": "New Rep",
            "job_function": JobFunction.SALES,
            "manager": cast.manager.pk,
            "hire_date": "2026-10-01",
            "site_role": SiteRole.MEMBER,
            "is_active": "on",
            "groups": [cast.sales.pk],
            "password": "a-long-enough-passphrase-9",
        },
    )
    assert response.status_code == 302
    user = User.objects.get(email="new.rep@example.com")
    assert user.manager == cast.manager
    assert user.job_function == JobFunction.SALES
    assert str(user.hire_date) == "2026-10-01"
    assert list(user.member_groups.all()) == [cast.sales]
    # Membership in Sales gives read access to the sales card and nothing else.
    assert list(access.cards_for(user)) == [cast.sales_card]
    fresh = Client()
    fresh.post(
        reverse("login"), {"email": "new.rep@example.com", "password": "a-long-enough-passphrase-9"}
    )
    assert fresh.get(reverse("profile")).status_code == 200


def test_user_create_without_password_cannot_sign_in(admin: Client, cast: Cast) -> None:
    admin.post(
        reverse("admin_user_create"),
        {
            "email": "invitee@example.com",
            "job_function": "other",
            "site_role": "member",
            "is_active": "on",
        },
    )
    user = User.objects.get(email="invitee@example.com")
    assert not user.has_usable_password()


def test_user_create_errors_sit_beside_fields_and_keep_input(admin: Client, cast: Cast) -> None:
    response = admin.post(
        reverse("admin_user_create"),
        {
            "email": "SALES@example.com",
            "name": "Typed Name",
            "job_function": "astronaut",
            "site_role": "member",
            "hire_date": "not-a-date",
            "password": "123",
        },
    )
    assert response.status_code == 400
    errors = response.context["form"].errors
    assert set(errors) >= {"email", "job_function", "hire_date", "password"}
    html = response.content.decode()
    assert 'value="Typed Name"' in html
    assert "Someone already uses this email address." in html
    assert User.objects.filter(email__iexact="sales@example.com").count() == 1


def test_admin_edits_a_user_groups_and_deactivates(admin: Client, cast: Cast) -> None:
    person = cast.sales_reader
    response = admin.post(
        reverse("admin_user_edit", args=[person.pk]),
        {
            "email": person.email,
            "name": "Renamed",
            "job_function": JobFunction.SUPPORT,
            "manager": "",
            "hire_date": "",
            "site_role": SiteRole.MEMBER,
            "groups": [cast.support.pk],
        },
    )
    assert response.status_code == 302
    person.refresh_from_db()
    assert person.name == "Renamed"
    assert person.job_function == JobFunction.SUPPORT
    assert person.manager is None
    assert not person.is_active
    assert list(person.member_groups.all()) == [cast.support]


def test_admin_edit_moves_access_with_groups(admin: Client, cast: Cast) -> None:
    person = cast.sales_reader
    admin.post(
        reverse("admin_user_edit", args=[person.pk]),
        {
            "email": person.email,
            "name": person.name,
            "job_function": person.job_function,
            "site_role": "member",
            "is_active": "on",
            "groups": [cast.support.pk],
        },
    )
    assert list(access.cards_for(person)) == [cast.support_card]


def test_admin_cannot_demote_or_deactivate_themselves(admin: Client, cast: Cast) -> None:
    response = admin.post(
        reverse("admin_user_edit", args=[cast.admin.pk]),
        {"email": cast.admin.email, "job_function": "other", "site_role": "member"},
    )
    assert response.status_code == 400
    assert {"site_role", "is_active"} <= set(response.context["form"].errors)
    cast.admin.refresh_from_db()
    assert cast.admin.is_site_admin


def test_admin_sets_a_new_password_for_someone_who_forgot(admin: Client, cast: Cast) -> None:
    url = reverse("admin_user_password", args=[cast.sales_reader.pk])
    new = "a-fresh-passphrase-for-sam-7"
    mismatch = admin.post(url, {"new_password1": new, "new_password2": new + "x"})
    assert mismatch.status_code == 400
    assert "new_password2" in mismatch.context["password_form"].errors
    assert admin.post(url, {"new_password1": new, "new_password2": new}).status_code == 302
    cast.sales_reader.refresh_from_db()
    assert cast.sales_reader.check_password(new)
    fresh = Client()
    fresh.post(reverse("login"), {"email": "sales@example.com", "password": new})
    assert fresh.get(reverse("profile")).status_code == 200


def test_members_cannot_set_passwords(client: Client, cast: Cast) -> None:
    client.force_login(cast.outsider)
    url = reverse("admin_user_password", args=[cast.sales_reader.pk])
    response = client.post(
        url, {"new_password1": "pwned-pwned-123", "new_password2": "pwned-pwned-123"}
    )
    assert response.status_code == 403
    cast.sales_reader.refresh_from_db()
    assert cast.sales_reader.check_password(PASSWORD)


def test_manager_cycle_is_refused_beside_the_field(admin: Client, cast: Cast) -> None:
    # author reports to manager; making manager report to author would be a cycle.
    response = admin.post(
        reverse("admin_user_edit", args=[cast.manager.pk]),
        {
            "email": cast.manager.email,
            "job_function": "leadership",
            "site_role": "member",
            "is_active": "on",
            "manager": cast.author.pk,
        },
    )
    assert response.status_code == 400
    assert "manager" in response.context["form"].errors
    cast.manager.refresh_from_db()
    assert cast.manager.manager is None


def test_users_list_searches_and_filters(admin: Client, cast: Cast) -> None:
    def emails(**params: str) -> set[str]:
        response = admin.get(reverse("admin_users"), params)
        assert response.status_code == 200
        return {u.email for u in response.context["page"].object_list}

    assert len(emails()) == 7
    assert emails(find="SUPPORT") == {"support@example.com"}
    assert emails(job_function="sales") == {"sales@example.com", "author@example.com"}
    assert emails(group=str(cast.sales.pk)) == {
        "sales@example.com",
        "author@example.com",
        "manager@example.com",
    }
    assert emails(group=str(cast.sales.pk), job_function="leadership") == {"manager@example.com"}
    assert emails(find="nobody-like-this") == set()


def test_users_list_htmx_returns_rows_only(admin: Client, cast: Cast) -> None:
    response = admin.get(reverse("admin_users"), {"find": "curator"}, HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert "<html" not in html
    assert "curator@example.com" in html and "sales@example.com" not in html


def test_users_list_query_count_does_not_grow_with_people(
    admin: Client, cast: Cast, django_assert_max_num_queries
) -> None:
    for n in range(30):
        user = User.objects.create_user(f"rep{n}@example.com", PASSWORD, manager=cast.manager)
        user.member_groups.add(cast.sales, cast.support)
    with django_assert_max_num_queries(12):
        response = admin.get(reverse("admin_users"))
    assert response.status_code == 200


# ---------------------------------------------------------------- groups and members


def test_admin_creates_a_group_and_adds_and_removes_a_member(admin: Client, cast: Cast) -> None:
    response = admin.post(
        reverse("admin_groups"), {"name": "  Customer   Success ", "description": "CSMs"}
    )
    group = Group.objects.get(name="Customer Success")
    assert response.status_code == 302
    assert response["Location"] == reverse("admin_group_detail", args=[group.pk])

    members_url = reverse("admin_group_members", args=[group.pk])
    response = admin.post(members_url, {"user": cast.support_reader.pk}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert "<html" not in response.content.decode()
    assert "support@example.com" in response.content.decode()
    assert list(group.members.all()) == [cast.support_reader]

    response = admin.post(members_url, {"remove": cast.support_reader.pk}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert not group.members.exists()


def test_add_member_without_choice_says_so(admin: Client, cast: Cast) -> None:
    members_url = reverse("admin_group_members", args=[cast.sales.pk])
    response = admin.post(members_url, {"user": ""}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200  # htmx swaps only 2xx
    assert "field-error" in response.content.decode()
    response = admin.post(members_url, {"user": ""})
    assert response.status_code == 400


def test_duplicate_group_name_is_refused_beside_the_field(admin: Client, cast: Cast) -> None:
    response = admin.post(reverse("admin_groups"), {"name": "sales"})
    assert response.status_code == 400
    assert "name" in response.context["form"].errors
    assert 'value="sales"' in response.content.decode()
    assert Group.objects.filter(name__iexact="sales").count() == 1


def test_group_rename(admin: Client, cast: Cast) -> None:
    url = reverse("admin_group_detail", args=[cast.support.pk])
    assert admin.post(url, {"name": "Support Tier 1", "description": ""}).status_code == 302
    cast.support.refresh_from_db()
    assert cast.support.name == "Support Tier 1"
    response = admin.post(url, {"name": "Sales"})
    assert response.status_code == 400
    assert "name" in response.context["form"].errors


# ---------------------------------------------------------------- collections and access


def test_admin_creates_a_collection_and_grants_it(admin: Client, cast: Cast) -> None:
    response = admin.post(
        reverse("admin_collections"), {"name": "Company Basics", "description": ""}
    )
    collection = Collection.objects.get(name="Company Basics")
    assert response["Location"] == reverse("admin_collection_access", args=[collection.pk])
    card = knowledge_services.card_create(
        user=cast.admin, collection=collection, title="Holiday calendar", content="..."
    )
    assert card not in access.cards_for(cast.support_reader)

    url = reverse("admin_collection_access", args=[collection.pk])
    response = admin.post(url, {"action": "add", "group": cast.support.pk, "role": "read"})
    assert response.status_code == 302
    assert card in access.cards_for(cast.support_reader)
    assert card not in access.cards_for(cast.outsider)
    assert not access.has_role(cast.support_reader, collection, "author")

    response = admin.post(url, {"group": cast.support.pk, "role": "author"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert access.has_role(cast.support_reader, collection, "author")

    response = admin.post(url, {"group": cast.support.pk, "role": ""}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert card not in access.cards_for(cast.support_reader)
    assert not CollectionAccess.objects.filter(collection=collection).exists()


def test_grant_form_offers_only_groups_without_access(admin: Client, cast: Cast) -> None:
    response = admin.get(reverse("admin_collection_access", args=[cast.sales_collection.pk]))
    offered = set(response.context["add_form"].fields["group"].queryset)
    assert offered == {cast.support}


def test_grant_with_bad_role_is_refused(admin: Client, cast: Cast) -> None:
    url = reverse("admin_collection_access", args=[cast.support_collection.pk])
    response = admin.post(url, {"action": "add", "group": cast.sales.pk, "role": "owner"})
    assert response.status_code == 400
    assert "role" in response.context["add_form"].errors
    assert not CollectionAccess.objects.filter(
        collection=cast.support_collection, group=cast.sales
    ).exists()


def test_collection_access_404_for_unknown_collection(admin: Client) -> None:
    assert admin.get(reverse("admin_collection_access", args=[999999])).status_code == 404


def test_duplicate_collection_name_is_refused(admin: Client, cast: Cast) -> None:
    response = admin.post(reverse("admin_collections"), {"name": "sales playbook"})
    assert response.status_code == 400
    assert "name" in response.context["form"].errors


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    steps=st.lists(
        st.tuples(
            st.sampled_from(["sales", "support"]), st.sampled_from(["read", "author", "curate", ""])
        ),
        min_size=1,
        max_size=6,
    )
)
def test_grants_made_on_the_page_decide_who_reads_the_support_card(
    admin: Client, cast: Cast, steps: list[tuple[str, str]]
) -> None:
    """Whatever the admin grants and removes, a member reads a card exactly when a group of
    theirs ends up with a role on its collection, and the outsider never does."""
    url = reverse("admin_collection_access", args=[cast.support_collection.pk])
    final: dict[str, str] = {
        g.group.name.lower(): g.role for g in cast.support_collection.access.select_related("group")
    }
    for group_name, role in steps:
        group = getattr(cast, group_name)
        admin.post(url, {"group": group.pk, "role": role}, HTTP_HX_REQUEST="true")
        final[group_name] = role
    sales_reads = cast.support_card in access.cards_for(cast.sales_reader)
    support_reads = cast.support_card in access.cards_for(cast.support_reader)
    assert sales_reads == bool(final.get("sales"))
    assert support_reads == bool(final.get("support"))
    assert not access.cards_for(cast.outsider).exists()


def test_groups_and_collections_pages_use_a_bounded_number_of_queries(
    admin: Client, cast: Cast, django_assert_max_num_queries
) -> None:
    for n in range(20):
        group = Group.objects.create(name=f"Team {n}")
        group.members.add(cast.sales_reader, cast.support_reader)
        collection = knowledge_services.collection_create(user=cast.admin, name=f"Area {n}")
        knowledge_services.collection_grant(
            user=cast.admin, collection=collection, group=group, role="read"
        )
    with django_assert_max_num_queries(10):
        assert admin.get(reverse("admin_groups")).status_code == 200
    with django_assert_max_num_queries(10):
        assert admin.get(reverse("admin_collections")).status_code == 200
    with django_assert_max_num_queries(12):
        url = reverse("admin_group_detail", args=[cast.sales.pk])
        assert admin.get(url).status_code == 200
