"""Permission isolation as a property: for random groups, collections, grants and users,
no list, search, queue or lookup ever shows a card its user cannot read."""

from __future__ import annotations

import pytest
from django.http import Http404
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.org_charts import rolled_back
from verity.accounts import access
from verity.accounts.models import Group, SiteRole, User
from verity.knowledge import selectors
from verity.knowledge.models import ROLE_RANK, AccessRole, Card, Collection, CollectionAccess
from verity.search.services import search_cards

ROLES = [None, AccessRole.READ, AccessRole.AUTHOR, AccessRole.CURATE]


@st.composite
def worlds(draw: st.DrawFn) -> dict:
    n_groups = draw(st.integers(1, 4))
    n_collections = draw(st.integers(1, 4))
    n_users = draw(st.integers(1, 5))
    return {
        "admins": draw(st.lists(st.booleans(), min_size=n_users, max_size=n_users)),
        "members": draw(
            st.lists(
                st.lists(st.booleans(), min_size=n_groups, max_size=n_groups),
                min_size=n_users,
                max_size=n_users,
            )
        ),
        "grants": draw(
            st.lists(
                st.lists(st.sampled_from(ROLES), min_size=n_groups, max_size=n_groups),
                min_size=n_collections,
                max_size=n_collections,
            )
        ),
        "cards": draw(
            st.lists(
                st.tuples(
                    st.integers(0, n_collections - 1), st.booleans(), st.integers(0, n_users - 1)
                ),
                min_size=1,
                max_size=8,
            )
        ),
    }


def build(world: dict) -> tuple[list[User], list[Card], dict[int, set[int]]]:
    groups = [Group.objects.create(name=f"g{i}") for i in range(len(world["members"][0]))]
    users = []
    for i, (is_admin, memberships) in enumerate(
        zip(world["admins"], world["members"], strict=True)
    ):
        user = User.objects.create_user(
            f"u{i}@example.com", None, site_role=SiteRole.ADMIN if is_admin else SiteRole.MEMBER
        )
        user.member_groups.set([g for g, m in zip(groups, memberships, strict=True) if m])
        users.append(user)
    collections = []
    for i, grants in enumerate(world["grants"]):
        collection = Collection.objects.create(name=f"c{i}", slug=f"c{i}")
        for group, role in zip(groups, grants, strict=True):
            if role is not None:
                CollectionAccess.objects.create(collection=collection, group=group, role=role)
        collections.append(collection)
    cards = []
    from django.utils import timezone

    from verity.search.services import index_card

    for i, (collection_index, archived, owner_index) in enumerate(world["cards"]):
        card = Card.objects.create(
            collection=collections[collection_index],
            title=f"alpha card marker{i}x",
            content="shared word alpha",
            content_html="<p>shared word alpha</p>",
            owner=users[owner_index],
            verifier_user=users[owner_index],
            archived_at=timezone.now() if archived else None,
        )
        index_card(card)
        cards.append(card)

    readable: dict[int, set[int]] = {}
    for u, user in enumerate(users):
        readable[user.pk] = {
            card.pk
            for card in cards
            if not card.archived_at
            and (
                world["admins"][u]
                or any(
                    world["members"][u][g] and world["grants"][cards_collection][g] is not None
                    for g in range(len(groups))
                    for cards_collection in [collections.index(card.collection)]
                )
            )
        }
    return users, cards, readable


@pytest.mark.django_db
@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(world=worlds())
def test_no_read_path_shows_an_unreadable_card(world: dict) -> None:
    with rolled_back():
        users, cards, readable = build(world)
        for user in users:
            expected = readable[user.pk]
            assert set(access.cards_for(user).values_list("pk", flat=True)) == expected
            found = search_cards(user=user, query="alpha", limit=100)
            assert {r.card.pk for r in found.results} == expected
            assert found.total == len(expected)
            assert set(selectors.verification_queue(user).values_list("pk", flat=True)) <= expected
            for card in cards:
                if card.pk in expected or (card.archived_at and _can_read_collection(user, card)):
                    assert access.get_card_for(user, card.pk).pk == card.pk
                else:
                    with pytest.raises(Http404):
                        access.get_card_for(user, card.pk)


def _can_read_collection(user: User, card: Card) -> bool:
    return access.collections_for(user).filter(pk=card.collection_id).exists()


@pytest.mark.django_db
@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(world=worlds())
def test_role_is_the_strongest_grant_of_the_users_groups(world: dict) -> None:
    with rolled_back():
        users, _, _ = build(world)
        collections = list(Collection.objects.order_by("name"))
        for u, user in enumerate(users):
            for c, collection in enumerate(collections):
                if world["admins"][u]:
                    expected = AccessRole.CURATE
                else:
                    held = [
                        world["grants"][c][g]
                        for g in range(len(world["members"][u]))
                        if world["members"][u][g] and world["grants"][c][g] is not None
                    ]
                    expected = max(held, key=lambda r: ROLE_RANK[r], default=None)
                assert access.collection_role(user, collection) == expected
                for role in AccessRole:
                    in_list = collections_for_role(user, role, collection)
                    assert in_list == (
                        expected is not None and ROLE_RANK[expected] >= ROLE_RANK[role]
                    )


def collections_for_role(user: User, role: str, collection: Collection) -> bool:
    return access.collections_for(user, role).filter(pk=collection.pk).exists()


@pytest.mark.django_db
def test_inactive_and_anonymous_users_see_nothing(cast) -> None:
    from django.contrib.auth.models import AnonymousUser

    cast.sales_reader.is_active = False
    cast.sales_reader.save()
    for nobody in (AnonymousUser(), cast.sales_reader):
        assert not access.cards_for(nobody).exists()
        assert search_cards(user=nobody, query="discount").total == 0
        with pytest.raises(Http404):
            access.get_card_for(nobody, cast.sales_card.pk)


@pytest.mark.django_db
@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(world=worlds())
def test_no_page_api_response_or_export_shows_an_unreadable_card(world: dict) -> None:
    """The same property through HTTP (search page, card pages, API lists and search) and
    through an export made as the user."""
    from django.test import Client

    from verity.knowledge.transfer.export import Exporter

    with rolled_back():
        users, cards, readable = build(world)
        for user in users:
            expected = readable[user.pk]
            hidden = [c for c in cards if c.pk not in expected]
            client = Client()
            client.force_login(user)

            page = client.get("/search/", {"q": "alpha"}).content.decode()
            api_cards = client.get("/api/v1/cards", {"limit": 200}).json()
            api_search = client.get("/api/v1/search", {"q": "alpha", "limit": 100}).json()
            assert {c["id"] for c in api_cards["items"]} == expected
            assert {r["card"]["id"] if "card" in r else r["id"] for r in api_search["items"]} == (
                expected
            )
            for card in hidden:
                assert f"marker{cards.index(card)}x" not in page
                if not _can_read_collection(user, card):
                    assert client.get(f"/cards/{card.pk}/").status_code == 404
                    assert client.get(f"/api/v1/cards/{card.pk}").status_code == 404

            exported = {c.pk for c in Exporter(user).cards}
            assert exported == {c.pk for c in cards if _can_read_collection(user, c)}
