"""Who sees whose learning, as a property over random org charts: a learner sees only their
own enrolments, a manager also their direct reports' (not skip-levels), a program's owner
that program's, the enablement team all of them, anyone else none."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import AnonymousUser
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.org_charts import build_people, people, rolled_back
from verity.accounts import access
from verity.accounts.models import JobFunction, User
from verity.learning.models import Enrollment, Program

FUNCTIONS = [
    JobFunction.SALES,
    JobFunction.SUCCESS,
    JobFunction.LEADERSHIP,
    JobFunction.ENABLEMENT,
    JobFunction.OTHER,
]


@st.composite
def org_charts(draw: st.DrawFn) -> dict:
    chart_people = draw(people(max_size=7, functions=FUNCTIONS))
    n_users = len(chart_people)
    programs = [
        {
            "owner": draw(st.integers(0, n_users - 1)),
            "enrolled": draw(st.lists(st.integers(0, n_users - 1), unique=True, max_size=n_users)),
        }
        for _ in range(draw(st.integers(1, 3)))
    ]
    return {"people": chart_people, "programs": programs}


def build(chart: dict) -> tuple[list[User], list[Enrollment]]:
    users = build_people(chart["people"])
    enrollments = []
    for p, spec in enumerate(chart["programs"]):
        program = Program.objects.create(name=f"program {p}", owner=users[spec["owner"]])
        for index in spec["enrolled"]:
            enrollments.append(Enrollment.objects.create(program=program, user=users[index]))
    return users, enrollments


def expected_visible(user: User, index: int, chart: dict, enrollment: Enrollment) -> bool:
    person = chart["people"][index]
    if not person["active"]:
        return False
    if person["admin"] or person["function"] == JobFunction.ENABLEMENT:
        return True
    learner = enrollment.user
    return (
        learner.pk == user.pk
        or learner.manager_id == user.pk
        or enrollment.program.owner_id == user.pk
    )


@pytest.mark.django_db
@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(chart=org_charts())
def test_enrolments_are_visible_to_exactly_the_right_people(chart: dict) -> None:
    with rolled_back():
        users, enrollments = build(chart)
        for index, user in enumerate(users):
            expected = {e.pk for e in enrollments if expected_visible(user, index, chart, e)}
            visible = set(access.enrollments_visible_to(user).values_list("pk", flat=True))
            assert visible == expected
            for enrollment in enrollments:
                assert access.can_see_enrollment(user, enrollment) == (enrollment.pk in expected)
            # Whatever enrolment one can see, one can also open its program.
            openable = set(access.programs_for(user).values_list("pk", flat=True))
            assert {e.program_id for e in enrollments if e.pk in expected} <= openable
            # Per program, the same rule restricted to that program.
            for program in Program.objects.all():
                in_program = set(
                    access.enrollments_visible_to(user, program).values_list("pk", flat=True)
                )
                assert in_program == {
                    e.pk for e in enrollments if e.pk in expected and e.program_id == program.pk
                }


@pytest.mark.django_db
def test_the_cast(make_program, enablement, admin, manager, rep, rep2, outsider) -> None:
    program = make_program(audience_users=[rep, rep2, manager], launch=True)
    (own,) = Enrollment.objects.filter(user=rep)
    everyone = set(Enrollment.objects.filter(program=program))
    assert set(access.enrollments_visible_to(rep)) == {own}
    assert set(access.enrollments_visible_to(manager)) == everyone  # self + both reports
    assert set(access.enrollments_visible_to(enablement)) == everyone
    assert set(access.enrollments_visible_to(admin)) == everyone
    assert not access.enrollments_visible_to(outsider).exists()
    assert not access.enrollments_visible_to(AnonymousUser()).exists()
    assert not access.can_see_enrollment(rep2, own)
