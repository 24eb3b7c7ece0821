"""What the performance work changed on the pages: the team filter lists each team once,
and a page reads the people once however many metrics it computes."""

from __future__ import annotations

import re
from typing import Any

from django.urls import reverse

from tests.analytics.views.conftest import Demo, Viewers, client_for
from verity.accounts.models import User
from verity.analytics import frames


def test_team_filter_lists_each_team_once(viewers: Viewers, demo: Demo) -> None:
    teams = set(User.objects.exclude(team="").values_list("team", flat=True))
    assert User.objects.exclude(team="").count() > len(teams) > 1  # teams with several people
    page = client_for(viewers.admin).get(reverse("analytics_people")).content.decode()
    select = re.search(r'<select name="team".*?</select>', page, re.S)
    assert select is not None
    options = re.findall(r'<option value="([^"]+)"', select.group(0))
    assert sorted(options) == sorted(teams)


def test_a_page_reads_the_people_once(viewers: Viewers, demo: Demo, monkeypatch: Any) -> None:
    reads = []
    read = frames._read_people

    def counted() -> Any:
        reads.append(1)
        return read()

    monkeypatch.setattr(frames, "_read_people", counted)
    client = client_for(viewers.admin)
    for url in (
        reverse("analytics_overview") + "?metric=time_to_first_deal_days&by=team",
        reverse("analytics_scorecard", args=[demo.rep.pk]),
        reverse("analytics_impact") + f"?program={demo.program.pk}&metric=ramp_time_days",
        reverse("analytics_retention") + f"?program={demo.program.pk}",
        reverse("analytics_roi") + f"?program={demo.program.pk}",
    ):
        reads.clear()
        assert client.get(url).status_code == 200
        assert len(reads) == 1, url
