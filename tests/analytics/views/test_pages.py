"""The analytics pages over a small synthetic company: who may open what, that every page
renders in English and Russian with and without data, that the numbers shown are the
engine's (metrics.compute / impact), that every table downloads as CSV, and that the caveat
and "insufficient data" appear when they should."""

from __future__ import annotations

import csv
import io
import re
from html import unescape

import pytest
from django.test import Client
from django.urls import reverse

from tests.analytics.views.conftest import Demo, Viewers, client_for
from tests.conftest import make_user
from verity.accounts.models import JobFunction, User
from verity.analytics import definitions, impact, metrics
from verity.analytics.models import MetricDefinition, Opportunity
from verity.analytics.templatetags.analytics_tags import format_value
from verity.analytics.views import last_quarters

COMPANY_PAGES = ["analytics_overview", "analytics_impact", "analytics_retention", "analytics_roi"]
CAVEAT = "Association, not proof of cause."


def text_of(response) -> str:  # type: ignore[no-untyped-def]
    html = response.content.decode()
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", html)))


def csv_rows(response) -> list[list[str]]:  # type: ignore[no-untyped-def]
    body = b"".join(response.streaming_content).decode("utf-8")
    assert body.startswith("\ufeff"), "the CSV starts with a byte order mark for Excel"
    return list(csv.reader(io.StringIO(body[1:])))


# ---------------------------------------------------------------- who may open what


def test_urls() -> None:
    assert reverse("analytics_overview") == "/analytics/"
    assert reverse("analytics_scorecard", args=[3]) == "/analytics/people/3/"
    assert reverse("analytics_definition", args=["win_rate"]) == "/analytics/definitions/win_rate/"


@pytest.mark.parametrize("name", [*COMPANY_PAGES, "analytics_people", "analytics_definitions"])
def test_anonymous_is_sent_to_sign_in(db: None, name: str) -> None:
    response = Client().get(reverse(name))
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_overview_sends_others_to_their_own_scorecard(viewers: Viewers) -> None:
    response = client_for(viewers.report).get(reverse("analytics_overview"))
    assert response.status_code == 302
    assert response["Location"] == reverse("analytics_scorecard", args=[viewers.report.pk])


@pytest.mark.parametrize("name", COMPANY_PAGES[1:])
@pytest.mark.parametrize("who", ["report", "manager", "outsider"])
def test_company_pages_are_for_analytics_viewers(viewers: Viewers, name: str, who: str) -> None:
    response = client_for(getattr(viewers, who)).get(reverse(name))
    assert response.status_code == 403
    csv_response = client_for(getattr(viewers, who)).get(reverse(name), {"format": "csv"})
    assert csv_response.status_code == 403


@pytest.mark.parametrize("who", ["admin", "enablement", "leader"])
def test_analytics_viewers_open_every_page(viewers: Viewers, who: str) -> None:
    client = client_for(getattr(viewers, who))
    for name in [*COMPANY_PAGES, "analytics_people", "analytics_definitions"]:
        assert client.get(reverse(name)).status_code == 200, name


def test_scorecards_follow_the_org_chart(viewers: Viewers) -> None:
    manager, report, outsider = viewers.manager, viewers.report, viewers.outsider
    assert (
        client_for(manager).get(reverse("analytics_scorecard", args=[report.pk])).status_code == 200
    )
    assert (
        client_for(report).get(reverse("analytics_scorecard", args=[report.pk])).status_code == 200
    )
    for viewer, person in [(report, manager), (outsider, report), (manager, outsider)]:
        url = reverse("analytics_scorecard", args=[person.pk])
        assert client_for(viewer).get(url).status_code == 404
        assert (
            client_for(viewer).get(url, {"format": "csv", "table": "programs"}).status_code == 404
        )
    assert (
        client_for(viewers.leader)
        .get(reverse("analytics_scorecard", args=[outsider.pk]))
        .status_code
        == 200
    )
    assert client_for(report).get(reverse("analytics_scorecard", args=[99999])).status_code == 404


def test_navigation_names_the_right_link(viewers: Viewers) -> None:
    admin_page = client_for(viewers.admin).get("/").content.decode()
    assert 'href="/analytics/"' in admin_page and "Analytics" in admin_page
    rep_page = client_for(viewers.report).get("/").content.decode()
    assert f'href="/analytics/people/{viewers.report.pk}/"' in rep_page
    assert "My scorecard" in rep_page and 'href="/analytics/"' not in rep_page


# ---------------------------------------------------------------- without data


@pytest.mark.parametrize("language", ["en", "ru"])
def test_pages_without_data_say_so_and_link_to_imports(viewers: Viewers, language: str) -> None:
    assert not Opportunity.objects.exists()
    admin = client_for(viewers.admin, language)
    for name in COMPANY_PAGES:
        response = admin.get(reverse(name))
        assert response.status_code == 200
        assert 'href="/analytics/imports/"' in response.content.decode(), name
    response = client_for(viewers.leader, language).get(reverse("analytics_overview"))
    assert response.status_code == 200
    # Only admins import: a leader is told to ask one.
    assert 'class="button primary" href="/analytics/imports/"' not in response.content.decode()
    own = client_for(viewers.report, language).get(
        reverse("analytics_scorecard", args=[viewers.report.pk])
    )
    assert own.status_code == 200
    if language == "en":
        assert "No CRM or HR data yet" in text_of(own)


# ---------------------------------------------------------------- with data


@pytest.mark.parametrize("language", ["en", "ru"])
def test_every_page_renders_with_data(demo: Demo, viewers: Viewers, language: str) -> None:
    client = client_for(viewers.admin, language)
    urls = [
        reverse(name) for name in [*COMPANY_PAGES, "analytics_people", "analytics_definitions"]
    ] + [
        reverse("analytics_scorecard", args=[demo.rep.pk]),
        reverse("analytics_definition", args=["ramp_time_days"]),
        reverse("analytics_impact") + "?metric=win_rate",
        reverse("analytics_retention") + "?by=hire_cohort",
        reverse("analytics_overview") + "?by=hire_cohort&metric=sales_cycle_days&quarters=8",
    ]
    for url in urls:
        response = client.get(url)
        assert response.status_code == 200, url
        page = response.content.decode()
        assert f'<html lang="{language}">' in page
        if url.endswith("/roi/"):  # n is the group sizes there, written out in words
            assert "95%" in page, url
        else:
            assert "n = " in page or "definitions" in url or url[-7:] == "people/", url


def test_overview_shows_the_engines_numbers(demo: Demo, viewers: Viewers) -> None:
    quarters = last_quarters(6)
    client = client_for(viewers.enablement)
    response = client.get(reverse("analytics_overview"))
    page = text_of(response)
    expected = metrics.compute(
        "win_rate", by="quarter", date_from=quarters[0].start, date_to=quarters[-1].end
    )
    shown = [row for row in expected.rows if not row.insufficient]
    assert shown, "the synthetic company closes deals every quarter"
    for row in shown:
        assert format_value(row.estimate, "ratio") in page
        assert f"n = {row.n}" in page
    # The CSV of the same table holds the same numbers.
    rows = csv_rows(client.get(reverse("analytics_overview"), {"format": "csv", "table": "trend"}))
    header, body = rows[0], rows[1:]
    assert header[:3] == ["Quarter", "Metric", "n"]
    win = {r[0]: r for r in body if r[1] == "Win rate"}
    for row in shown:
        line = win[metrics.quarter_label(row.key)]
        assert int(line[2]) == row.n
        assert float(line[3]) == pytest.approx(row.estimate, rel=1e-5)
        assert float(line[4]) == pytest.approx(row.ci_low, rel=1e-5)


def test_breakdown_cells_are_compute_by_team_per_quarter(demo: Demo, viewers: Viewers) -> None:
    quarters = last_quarters(4)
    response = client_for(viewers.admin).get(
        reverse("analytics_overview"),
        {"by": "team", "metric": "deal_size", "quarters": 4, "format": "csv", "table": "breakdown"},
    )
    body = csv_rows(response)[1:]
    q = quarters[-2]
    expected = metrics.compute("deal_size", by="team", date_from=q.start, date_to=q.end)
    for row in expected.rows:
        line = next(r for r in body if r[0] == row.label and r[1] == q.label)
        assert int(line[2]) == row.n
        if row.insufficient:
            assert line[3] == "" and line[-1] == "insufficient data"
        else:
            assert float(line[3]) == pytest.approx(row.estimate, rel=1e-5)


def test_scorecard_compares_with_cohort_and_team(demo: Demo, viewers: Viewers) -> None:
    rep = demo.rep
    response = client_for(viewers.admin).get(reverse("analytics_scorecard", args=[rep.pk]))
    page = text_of(response)
    own = metrics.compute("win_rate", people={rep.pk}).rows[0]
    team = set(User.objects.filter(team=rep.team).values_list("pk", flat=True))
    team_row = metrics.compute("win_rate", people=team).rows[0]
    assert format_value(own.estimate, "ratio") in page and f"n = {own.n}" in page
    assert format_value(team_row.estimate, "ratio") in page and f"n = {team_row.n}" in page
    assert (
        "definition v1" in page
        and 'href="/analytics/definitions/win_rate/"' in response.content.decode()
    )
    assert CAVEAT in page
    # Every table of the page downloads.
    for table in ("metrics", "ramp", "programs"):
        rows = csv_rows(
            client_for(viewers.admin).get(
                reverse("analytics_scorecard", args=[rep.pk]), {"format": "csv", "table": table}
            )
        )
        assert len(rows) > 1, table
    response = client_for(viewers.admin).get(
        reverse("analytics_scorecard", args=[rep.pk]), {"format": "csv", "table": "nope"}
    )
    assert response.status_code == 404


def test_impact_page_shows_the_three_designs_and_the_caveat(demo: Demo, viewers: Viewers) -> None:
    program = demo.program
    client = client_for(viewers.enablement)
    response = client.get(
        reverse("analytics_impact"), {"program": program.pk, "metric": "time_to_first_deal_days"}
    )
    page = text_of(response)
    assert CAVEAT in page and str(impact.CAVEAT) in page
    versus = impact.completed_vs_not(program.pk, "time_to_first_deal_days")
    for row in (versus.completed, versus.not_completed):
        assert f"n = {row.n}" in page
        if not row.insufficient:
            assert format_value(row.estimate, "days") in page
    assert "Difference-in-differences needs a before and an after" in page
    rows = csv_rows(
        client.get(
            reverse("analytics_impact"),
            {
                "program": program.pk,
                "metric": "time_to_first_deal_days",
                "format": "csv",
                "table": "completed-vs-not",
            },
        )
    )
    assert [r[0] for r in rows[1:3]] == ["Completed", "Not completed"]
    assert int(rows[1][1]) == versus.completed.n


def test_a_difference_from_few_reps_is_not_called_firm(demo: Demo, viewers: Viewers) -> None:
    """Whatever the interval says, a comparison with a group under 20 reps carries the note
    that its bootstrap interval is probably too narrow, and is not called unlikely chance."""
    versus = impact.completed_vs_not(demo.program.pk, "time_to_first_deal_days")
    page = text_of(
        client_for(viewers.admin).get(
            reverse("analytics_impact"),
            {"program": demo.program.pk, "metric": "time_to_first_deal_days"},
        )
    )
    assert min(versus.completed.n, versus.not_completed.n) < impact.FEW_REPS
    assert versus.notes and versus.notes[0] in page
    assert "unlikely to be chance alone" not in page


def test_diff_in_diff_for_a_deal_metric(demo: Demo, viewers: Viewers) -> None:
    response = client_for(viewers.admin).get(
        reverse("analytics_impact"), {"program": demo.program.pk, "metric": "win_rate"}
    )
    page = text_of(response)
    did = impact.diff_in_diff(demo.program.pk, "win_rate")
    assert did.applicable
    assert "Difference in differences" in page
    if did.insufficient:
        assert "insufficient data" in page
    else:
        assert "95% interval" in page


def test_insufficient_data_below_min_n(viewers: Viewers) -> None:
    """Three won deals: below the minimum n of 5 the page says so instead of a number."""
    from datetime import date, timedelta

    rep = make_user("tiny@example.com", job_function=JobFunction.SALES, hire_date=date(2024, 1, 1))
    today = date.today()
    for i in range(3):
        Opportunity.objects.create(
            external_id=f"T{i}",
            owner=rep,
            amount=1000,
            stage="Closed Won",
            outcome="won",
            created_date=today - timedelta(days=40),
            close_date=today - timedelta(days=10),
        )
    from verity.analytics import frames

    frames.bump_data_version()
    page = text_of(client_for(viewers.admin).get(reverse("analytics_scorecard", args=[rep.pk])))
    assert "insufficient data n = 3" in page
    # Lowering the minimum n (a new definition version) shows the number.
    definitions.save_version(viewers.admin, "deal_size", {"min_n": 3}, "small team")
    page = text_of(client_for(viewers.admin).get(reverse("analytics_scorecard", args=[rep.pk])))
    assert "1,000" in page and "definition v2" in page


def test_retention_page_tables_and_curves(demo: Demo, viewers: Viewers) -> None:
    client = client_for(viewers.admin)
    page = text_of(client.get(reverse("analytics_retention")))
    everyone = metrics.compute("retention_2y").rows[0]
    assert "Everyone" in page and f"n = {everyone.n}" in page
    first = metrics.compute("time_to_first_deal_days", by="program", program_id=demo.program.pk)
    for row in first.rows:
        assert f"n = {row.n}" in page
    for table in ("retention", "retention-curves", "first-deal", "first-deal-curves"):
        rows = csv_rows(
            client.get(reverse("analytics_retention"), {"format": "csv", "table": table})
        )
        assert len(rows) > 2, table


def test_csv_cells_cannot_be_formulas(viewers: Viewers) -> None:
    evil = make_user("evil@example.com", job_function=JobFunction.SALES)
    evil.team = '=HYPERLINK("http://x")'
    evil.hire_date = evil.date_joined.date()
    evil.save()
    rows = csv_rows(
        client_for(viewers.admin).get(
            reverse("analytics_people"), {"format": "csv", "table": "people"}
        )
    )
    teams = [r[2] for r in rows[1:]]
    assert '\'=HYPERLINK("http://x")' in teams


# ---------------------------------------------------------------- definitions and ROI


def test_definitions_are_read_by_all_and_edited_by_admins(viewers: Viewers) -> None:
    url = reverse("analytics_definition", args=["win_rate"])
    page = text_of(client_for(viewers.report).get(url))
    assert "Won / (won + lost)" in page and "Save a new version" not in page
    assert client_for(viewers.report).post(url, {"value": "amount", "note": "x"}).status_code == 403
    admin = client_for(viewers.admin)
    bad = admin.post(url, {"value": "count", "min_n": "0", "confidence": "0.95", "note": "x"})
    assert bad.status_code == 200 and "must be at least" in text_of(bad)
    ok = admin.post(url, {"value": "amount", "min_n": "5", "confidence": "0.9", "note": "by value"})
    assert ok.status_code == 302
    current = definitions.in_force("win_rate")
    assert current.version == 2 and current.params["value"] == "amount"
    assert MetricDefinition.objects.get(metric="win_rate", version=2).note == "by value"
    listing = text_of(client_for(viewers.report).get(reverse("analytics_definitions")))
    assert "version 2" in listing
    rows = csv_rows(client_for(viewers.report).get(url, {"format": "csv", "table": "history"}))
    assert {r[0] for r in rows[1:]} == {"1", "2"}
    assert (
        client_for(viewers.report).get(reverse("analytics_definition", args=["nope"])).status_code
        == 404
    )


def test_roi_recomputes_with_edited_assumptions_and_admins_save_them(
    demo: Demo, viewers: Viewers
) -> None:
    from verity.analytics import roi

    params = {
        "program": demo.program.pk,
        "margin": "0.5",
        "monthly_cost_per_rep": "8000",
        "onboarding_cost_per_rep": "2500",
        "annual_discount_rate": "0.08",
        "horizon_months": "24",
    }
    page = text_of(client_for(viewers.leader).get(reverse("analytics_roi"), params))
    result = roi.onboarding_roi(
        demo.program.pk,
        {
            "margin": 0.5,
            "monthly_cost_per_rep": 8000.0,
            "onboarding_cost_per_rep": 2500.0,
            "annual_discount_rate": 0.08,
            "horizon_months": 24,
        },
    )
    assert "edited here, not saved" in page
    assert (
        f"Cost = 2,500 onboarding cost per rep \N{MULTIPLICATION SIGN} "
        f"{result.completers} completers" in page
    )
    assert format_value(result.cost, "amount") in page
    # Leaders may not save; admins may.
    post = {k: v for k, v in params.items() if k != "program"}
    assert client_for(viewers.leader).post(reverse("analytics_roi"), post).status_code == 403
    assert (
        client_for(viewers.admin)
        .post(reverse("analytics_roi"), {**post, "note": "FY27"})
        .status_code
        == 302
    )
    saved = definitions.in_force("rep_ltv")
    assert saved.version == 2 and saved.params["horizon_months"] == 24
    bad = client_for(viewers.admin).get(reverse("analytics_roi"), {**params, "margin": "3"})
    assert "must be at most" in text_of(bad)


# ---------------------------------------------------------------- queries


def test_queries_do_not_grow_with_the_number_of_reps(
    viewers: Viewers, django_assert_max_num_queries
) -> None:
    from datetime import date

    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def count(url: str) -> int:
        client = client_for(viewers.admin)
        client.get(url)  # warm the frame cache and the definitions
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(url).status_code == 200
        return len(ctx.captured_queries)

    def add_reps(n: int, start: int) -> None:
        from verity.analytics import frames

        for i in range(start, start + n):
            rep = make_user(
                f"rep{i}@example.com", job_function=JobFunction.SALES, manager=viewers.manager
            )
            rep.hire_date, rep.team = date(2024, 1 + i % 12, 1), f"Team {i % 3}"
            rep.save()
            Opportunity.objects.create(
                external_id=f"Q{i}",
                owner=rep,
                amount=500,
                stage="won",
                outcome="won",
                created_date=date(2025, 1, 1),
                close_date=date(2025, 2, 1),
            )
        frames.bump_data_version()

    urls = [
        reverse("analytics_people"),
        reverse("analytics_overview"),
        reverse("analytics_retention"),
        reverse("analytics_scorecard", args=[viewers.manager.pk]),
    ]
    add_reps(3, 0)
    few = [count(url) for url in urls]
    add_reps(12, 3)
    many = [count(url) for url in urls]
    assert many == few
