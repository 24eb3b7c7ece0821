"""GET /api/v1/xapi/statements: statement shape (the required xAPI fields, stable ids), paging
through `more` to the end without duplicates in both directions, the since/until/verb/agent
filters, and who sees whose statements — as examples and as a property over random org
charts."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.api.test_learning import Setup, enrollment_of, finish, make_setup, wrong_answers
from tests.conftest import Api, Cast
from tests.org_charts import build_people, people, rolled_back
from verity.accounts.models import JobFunction
from verity.learning import enrolment, quizzes, xapi
from verity.learning.models import Enrollment, EnrollmentState, Program

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def at(hours: int) -> datetime:
    return T0 + timedelta(hours=hours)


ADL_VERBS = {
    "http://adlnet.gov/expapi/verbs/" + v
    for v in ("completed", "experienced", "attempted", "passed", "failed")
}


@pytest.fixture
def history(cast: Cast) -> Setup:
    """17 statements: the sales reader's whole program (9, with a failed then a passed quiz
    attempt, and two steps acknowledged at the same moment), the author's and the manager's
    card (1 each), the support reader's whole program (6)."""
    setup = make_setup(cast, now=T0)
    mine = enrollment_of(setup, cast.sales_reader)
    enrolment.complete_step(enrollment=mine, step=setup.card_step, now=at(1))
    enrolment.complete_step(enrollment=mine, step=setup.lesson, now=at(1))
    first = quizzes.attempt_start(enrollment=mine, step=setup.quiz, now=at(2))
    wrong = {int(k): v for k, v in wrong_answers(setup).items()}
    quizzes.attempt_submit(attempt=first, answers=wrong, now=at(3))
    second = quizzes.attempt_start(enrollment=mine, step=setup.quiz, now=at(3))
    right = {q.pk: [c.pk for c in q.choices.all() if c.correct] for q in (setup.q1, setup.q2)}
    quizzes.attempt_submit(attempt=second, answers=right, now=at(4))
    enrolment.complete_step(enrollment=mine, step=setup.sales_lesson, now=at(5))
    enrolment.complete_step(
        enrollment=enrollment_of(setup, cast.author), step=setup.card_step, now=at(1)
    )
    enrolment.complete_step(
        enrollment=enrollment_of(setup, cast.manager), step=setup.card_step, now=at(2)
    )
    finish(setup, cast.support_reader, now=at(6))
    return setup


def statements(client: Api, **params: Any) -> list[dict[str, Any]]:
    response = client.get("/xapi/statements", limit=500, **params)
    assert response.status_code == 200, response.json()
    assert response.json()["more"] == ""
    return response.json()["statements"]


def follow(client: Api, **params: Any) -> list[dict[str, Any]]:
    """Every statement, page by page through `more`."""
    response = client.get("/xapi/statements", **params)
    seen: list[dict[str, Any]] = []
    pages = 0
    while True:
        assert response.status_code == 200, response.json()
        body = response.json()
        seen.extend(body["statements"])
        pages += 1
        assert pages < 100
        if not body["more"]:
            return seen
        assert body["statements"]  # a "more" link is never given after an empty page
        response = client.client.get(body["more"], headers=client.headers)


def when(statement: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(statement["timestamp"])


def test_statement_shape(api: Any, cast: Cast, history: Setup, settings: Any) -> None:
    settings.SITE_URL = "https://verity.example.com"
    response = api("curator").get("/xapi/statements")
    assert response.status_code == 200
    assert response["X-Experience-API-Version"] == "1.0.3"
    body = response.json()
    assert set(body) == {"statements", "more"} and body["more"] == ""
    found = body["statements"]
    assert len(found) == 17
    for statement in found:
        assert uuid.UUID(statement["id"]).version == 5
        assert statement["actor"]["objectType"] == "Agent"
        assert statement["actor"]["mbox"].startswith("mailto:")
        assert statement["actor"]["name"]
        assert statement["verb"]["id"] in ADL_VERBS
        assert statement["verb"]["display"]["en-US"] == statement["verb"]["id"].rsplit("/", 1)[1]
        assert statement["object"]["objectType"] == "Activity"
        assert statement["object"]["id"].startswith(
            f"https://verity.example.com/programs/{history.program.pk}/"
        )
        assert statement["object"]["definition"]["name"]["en-US"]
        assert statement["object"]["definition"]["type"].startswith("http")
        assert when(statement).tzinfo is not None
        assert statement["stored"] == statement["timestamp"]
        assert statement["version"] == "1.0.3"
    # Newest first by default.
    assert [when(s) for s in found] == sorted((when(s) for s in found), reverse=True)
    assert len({s["id"] for s in found}) == 17

    sales = [s for s in found if s["actor"]["mbox"] == "mailto:sales@example.com"]
    verbs = sorted(s["verb"]["display"]["en-US"] for s in sales)
    assert verbs == sorted(
        ["experienced", "attempted", "failed", "attempted", "passed", *["completed"] * 4]
    )
    failed = next(s for s in sales if s["verb"]["display"]["en-US"] == "failed")
    assert failed["result"]["score"] == {"scaled": 0.0, "raw": 0.0, "min": 0, "max": 100}
    assert failed["result"]["success"] is False and failed["result"]["completion"] is True
    assert failed["result"]["duration"] == "PT3600S"
    assert failed["object"]["id"].endswith(f"#step-{history.quiz.pk}")
    passed = next(s for s in sales if s["verb"]["display"]["en-US"] == "passed")
    assert passed["result"]["score"] == {"scaled": 1.0, "raw": 100.0, "min": 0, "max": 100}
    assert passed["result"]["success"] is True
    assert when(passed) == at(4)
    program_done = next(
        s
        for s in sales
        if s["object"]["id"] == f"https://verity.example.com/programs/{history.program.pk}/"
    )
    assert program_done["verb"]["display"]["en-US"] == "completed"
    assert program_done["object"]["definition"] == {
        "name": {"en-US": "Onboarding"},
        "type": "http://adlnet.gov/expapi/activities/course",
    }
    assert program_done["result"]["score"]["scaled"] == 1.0
    assert when(program_done) == at(5)
    card = next(s for s in sales if s["verb"]["display"]["en-US"] == "experienced")
    assert card["object"]["id"].endswith(f"#step-{history.card_step.pk}")
    # Steps name their program as the parent; one registration per enrolment.
    assert card["context"]["contextActivities"]["parent"][0]["id"] == program_done["object"]["id"]
    assert len({s["context"]["registration"] for s in sales}) == 1

    # Ids are stable across calls.
    again = api("curator").get("/xapi/statements").json()["statements"]
    assert [s["id"] for s in again] == [s["id"] for s in found]
    assert again == found


@pytest.mark.parametrize("ascending", [False, True])
@pytest.mark.parametrize("limit", [1, 2, 5])
def test_more_pages_to_the_end_without_duplicates(
    api: Any, history: Setup, ascending: bool, limit: int
) -> None:
    client = api("curator")
    everything = statements(client, ascending=ascending)
    paged = follow(client, limit=limit, ascending=ascending)
    assert [s["id"] for s in paged] == [s["id"] for s in everything]
    assert len({s["id"] for s in paged}) == len(paged) == 17
    moments = [when(s) for s in paged]
    assert moments == sorted(moments, reverse=not ascending)


def test_paging_keeps_filters(api: Any, cast: Cast, history: Setup) -> None:
    # The manager's card at 2; the sales reader's first attempt (started at 2, failed at 3)
    # and the second one started at 3.
    paged = follow(api("manager"), limit=1, since=at(1).isoformat(), until=at(3).isoformat())
    assert sorted(when(s) for s in paged) == [at(2), at(2), at(3), at(3)]
    assert len({s["id"] for s in paged}) == 4


def test_since_and_until(api: Any, history: Setup) -> None:
    client = api("curator")
    later = statements(client, since=at(3).isoformat())
    assert later and all(when(s) > at(3) for s in later)
    # since is exclusive, until inclusive (as in the xAPI spec).
    assert {when(s) for s in later} == {at(4), at(5), at(6)}
    early = statements(client, until=at(2).isoformat())
    assert {when(s) for s in early} == {at(1), at(2)}
    window = statements(client, since=at(1).isoformat(), until=at(3).isoformat())
    assert {when(s) for s in window} == {at(2), at(3)}
    everything = statements(client)
    assert len(later) + len(early) + len([s for s in everything if when(s) == at(3)]) == 17


def test_verb_and_agent_filters(api: Any, cast: Cast, history: Setup) -> None:
    client = api("curator")
    passed = statements(client, verb="http://adlnet.gov/expapi/verbs/passed")
    assert {s["actor"]["mbox"] for s in passed} == {
        "mailto:sales@example.com",
        "mailto:support@example.com",
    }
    assert all(s["verb"]["display"]["en-US"] == "passed" for s in passed)
    failed = statements(client, verb="http://adlnet.gov/expapi/verbs/failed")
    assert len(failed) == 1
    experienced = statements(client, verb="http://adlnet.gov/expapi/verbs/experienced")
    assert len(experienced) == 4  # the card, by everyone
    completed = statements(client, verb="http://adlnet.gov/expapi/verbs/completed")
    assert all(s["verb"]["display"]["en-US"] == "completed" for s in completed)
    assert len(completed) == 4 + 3  # sales: lesson, quiz, sales lesson, program; support: 3
    assert statements(client, verb="http://example.com/verbs/unknown") == []

    agent = '{"mbox": "mailto:sales@example.com"}'
    sales = statements(api("manager"), agent=agent)
    assert len(sales) == 9
    assert {s["actor"]["mbox"] for s in sales} == {"mailto:sales@example.com"}
    # Filtering by someone you may not see gives nothing, not their statements.
    assert statements(api("support_reader"), agent=agent) == []

    for bad in ("not json", '{"name": "x"}', '{"mbox": "sales@example.com"}', "[]"):
        response = client.get("/xapi/statements", agent=bad)
        assert response.status_code == 422, bad
        assert response.json()["errors"][0]["field"] == "agent"


def test_bad_parameters(api: Any, history: Setup) -> None:
    client = api("curator")
    assert client.get("/xapi/statements", limit=501).status_code == 422
    assert client.get("/xapi/statements", limit=0).status_code == 422
    for cursor in ("garbage", "bm90fGF8Yg", xapi.Key(at(1), 9, 1).encode()):
        response = client.get("/xapi/statements", cursor=cursor)
        assert response.status_code == 422, cursor
        assert response.json()["errors"][0]["field"] == "cursor"
    assert client.get("/xapi/statements", since="yesterday").status_code == 422


def test_who_sees_whose_statements(api: Any, cast: Cast, history: Setup) -> None:
    def actors(who: str) -> set[str]:
        return {s["actor"]["mbox"].removeprefix("mailto:") for s in statements(api(who))}

    everyone = {
        "sales@example.com",
        "author@example.com",
        "manager@example.com",
        "support@example.com",
    }
    assert actors("curator") == everyone
    assert actors("admin") == everyone
    assert actors("sales_reader") == {"sales@example.com"}
    assert actors("support_reader") == {"support@example.com"}
    assert actors("manager") == {"manager@example.com", "author@example.com", "sales@example.com"}
    assert actors("outsider") == set()
    assert len(statements(api("sales_reader"))) == 9


def test_a_card_acknowledged_again_is_a_new_statement(api: Any, cast: Cast, history: Setup) -> None:
    client = api("author")
    (before,) = statements(client)
    mine = enrollment_of(history, cast.author)
    mine.progress.update(needs_reread=True)
    enrolment.complete_step(enrollment=mine, step=history.card_step, now=at(7))
    (after,) = statements(client)
    assert when(after) == at(7)
    assert after["id"] != before["id"]


# ---------------------------------------------------------------- the property


XAPI_FUNCTIONS = [
    JobFunction.SALES,
    JobFunction.SUPPORT,
    JobFunction.LEADERSHIP,
    JobFunction.ENABLEMENT,
    JobFunction.OTHER,
]


@st.composite
def org_charts(draw: st.DrawFn) -> dict[str, Any]:
    chart_people = draw(people(max_size=6, functions=XAPI_FUNCTIONS, inactive=False))
    n_users = len(chart_people)
    programs = [
        {
            "owner": draw(st.integers(0, n_users - 1)),
            "enrolled": draw(
                st.lists(
                    st.tuples(st.integers(0, n_users - 1), st.integers(0, 48)),
                    unique_by=lambda pair: pair[0],
                    max_size=n_users,
                )
            ),
        }
        for _ in range(draw(st.integers(1, 3)))
    ]
    return {"people": chart_people, "programs": programs, "limit": draw(st.integers(1, 4))}


def expected_visible(
    viewer: dict[str, Any], index: int, chart: dict[str, Any], owner: int, learner: int
) -> bool:
    """The rule, written independently of access.py: the enablement team and site admins
    see everything; others their own, their direct reports' and the programs they own."""
    if viewer["admin"] or viewer["function"] == JobFunction.ENABLEMENT:
        return True
    return learner == index or chart["people"][learner]["manager"] == index or owner == index


@pytest.mark.django_db
@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(chart=org_charts())
def test_statements_are_exactly_those_of_visible_enrolments(chart: dict[str, Any]) -> None:
    with rolled_back():
        users = build_people(chart["people"])
        # Every enrolment is completed: exactly one statement each, at a random hour (so
        # many share a timestamp and the cursor's tie-breaking is exercised too).
        enrolled: list[tuple[Enrollment, int, int]] = []
        for p, spec in enumerate(chart["programs"]):
            program = Program.objects.create(name=f"program {p}", owner=users[spec["owner"]])
            for learner, hour in spec["enrolled"]:
                enrollment = Enrollment.objects.create(
                    program=program,
                    user=users[learner],
                    state=EnrollmentState.COMPLETED,
                    completed_at=at(hour),
                )
                enrolled.append((enrollment, spec["owner"], learner))

        for index, user in enumerate(users):
            viewer = chart["people"][index]
            expected = {
                xapi.registration(e.pk)
                for e, owner, learner in enrolled
                if expected_visible(viewer, index, chart, owner, learner)
            }
            got = follow(Api(user), limit=chart["limit"])
            registrations = [s["context"]["registration"] for s in got]
            assert len(registrations) == len(set(registrations))  # no duplicates across pages
            assert set(registrations) == expected
