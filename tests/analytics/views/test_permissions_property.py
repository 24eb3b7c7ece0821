"""Whose scorecard may be opened, as a property over random org charts: an analytics viewer
(site admin, enablement, leadership) opens everyone's; anyone else exactly their own and
those of everyone below them in the org chart — the page, its CSV and the list of
scorecards alike; everyone else gets 404, so the person's existence is not revealed."""

from __future__ import annotations

import csv
import io

import pytest
from django.test import Client
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.org_charts import build_people, people, rolled_back
from verity.accounts.models import JobFunction, User


def below(index: int, chart: list[dict]) -> set[int]:
    found: set[int] = set()
    frontier = {index}
    while frontier:
        frontier = {i for i, p in enumerate(chart) if p["manager"] in frontier} - found
        found |= frontier
    return found


def expected_visible(index: int, chart: list[dict]) -> set[int]:
    person = chart[index]
    if person["admin"] or person["function"] in (JobFunction.ENABLEMENT, JobFunction.LEADERSHIP):
        return set(range(len(chart)))
    return {index} | below(index, chart)


def listed(client: Client) -> set[str]:
    response = client.get(reverse("analytics_people"), {"format": "csv", "table": "people"})
    body = b"".join(response.streaming_content).decode("utf-8").lstrip("\ufeff")
    return {row[1] for row in list(csv.reader(io.StringIO(body)))[1:]}


@pytest.fixture(autouse=True)
def _no_metrics(monkeypatch: pytest.MonkeyPatch) -> None:
    """Access is decided before any number is computed; skipping the metrics (as for a
    company without imported data) keeps hundreds of page loads fast."""
    monkeypatch.setattr("verity.analytics.views.has_data", lambda: False)


@pytest.mark.django_db
@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(chart=people(max_size=6, inactive=False), searcher=st.integers(0, 5))
def test_scorecards_visible_to_exactly_the_right_people(chart: list[dict], searcher: int) -> None:
    with rolled_back():
        users = build_people(chart)
        for user in users:  # everyone has HR data, so everyone has a scorecard
            user.hire_date = user.date_joined.date()
            user.save(update_fields=["hire_date"])
        for index, viewer in enumerate(users):
            client = Client()
            client.force_login(viewer)
            allowed = expected_visible(index, chart)
            for other, person in enumerate(users):
                url = reverse("analytics_scorecard", args=[person.pk])
                expected = 200 if other in allowed else 404
                assert client.get(url).status_code == expected, (index, other)
                csv_status = client.get(url, {"format": "csv", "table": "programs"}).status_code
                assert csv_status == expected
            assert listed(client) == {users[i].email for i in allowed}
            # The HTML list shows the same people (the page has room for all of them).
            page = client.get(reverse("analytics_people")).content.decode()
            for other, person in enumerate(users):
                link = f'href="/analytics/people/{person.pk}/"'
                assert (link in page) == (other in allowed), (index, other)
        # An id nobody has is a 404 too, whoever asks.
        client = Client()
        client.force_login(users[searcher % len(users)])
        missing = (User.objects.order_by("-pk").values_list("pk", flat=True).first() or 0) + 1
        assert client.get(reverse("analytics_scorecard", args=[missing])).status_code == 404
