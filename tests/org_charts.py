"""Random org charts for property-based permission tests, shared by every app's tests.

A chart is a list of people; each has a manager earlier in the list (so there are no
cycles), a job function, and may be a site admin or deactivated. `build_people` creates
them as users; `rolled_back` undoes one hypothesis example's rows, since the database
fixture is shared by all examples of a test."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from django.db import transaction
from hypothesis import strategies as st

from verity.accounts.models import JobFunction, SiteRole, User

ALL_FUNCTIONS = [
    JobFunction.SALES,
    JobFunction.SUCCESS,
    JobFunction.SUPPORT,
    JobFunction.LEADERSHIP,
    JobFunction.ENABLEMENT,
    JobFunction.OTHER,
]


@st.composite
def people(
    draw: st.DrawFn,
    min_size: int = 2,
    max_size: int = 7,
    functions: Sequence[str] = ALL_FUNCTIONS,
    inactive: bool = True,
) -> list[dict[str, Any]]:
    n_users = draw(st.integers(min_size, max_size))
    return [
        {
            "manager": draw(st.one_of(st.none(), st.integers(0, i - 1))) if i else None,
            "function": draw(st.sampled_from(list(functions))),
            "admin": draw(st.integers(0, 9)) == 0,
            "active": draw(st.integers(0, 7)) != 0 if inactive else True,
        }
        for i in range(n_users)
    ]


def build_people(chart_people: list[dict[str, Any]]) -> list[User]:
    users: list[User] = []
    for i, person in enumerate(chart_people):
        users.append(
            User.objects.create_user(
                f"p{i}@example.com",
                None,
                job_function=person["function"],
                site_role=SiteRole.ADMIN if person["admin"] else SiteRole.MEMBER,
                is_active=person["active"],
                manager=users[person["manager"]] if person["manager"] is not None else None,
            )
        )
    return users


class _Rollback(Exception):
    pass


@contextmanager
def rolled_back() -> Iterator[None]:
    try:
        with transaction.atomic():
            yield
            raise _Rollback
    except _Rollback:
        pass
