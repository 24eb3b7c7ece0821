"""The program report page and its CSV downloads: who may open them, what they show, in
English and Russian, and that the page's queries do not grow with the number of learners.

The page, the enrolment CSV and the question CSV are for the program's managers (the
enablement team and the owner): a learner or a line manager who can open the program gets
403, an outsider 404. The hand-built program and its numbers are described in test_report.
"""

from __future__ import annotations

import csv
import io
import os
import re
from html import unescape
from pathlib import Path

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import translation
from playwright.sync_api import Page, expect

from tests.conftest import PASSWORD, make_user
from tests.learning.test_report import LAUNCH, Built, answer_survey, build
from verity.accounts.models import JobFunction, User
from verity.learning import enrolment, surveys
from verity.learning.models import Program


def client_for(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def built(make_program, manager: User, rep: User, rep2: User) -> Built:
    return build(make_program, manager, rep, rep2)


def urls(program: Program) -> list[str]:
    return [
        reverse("program_report", args=[program.pk]),
        reverse("program_report_csv", args=[program.pk]),
        reverse("program_questions_csv", args=[program.pk]),
    ]


def page_of(user: User, program: Program, language: str = "en") -> str:
    response = client_for(user).get(
        reverse("program_report", args=[program.pk]), HTTP_ACCEPT_LANGUAGE=language
    )
    assert response.status_code == 200
    return response.content.decode()


def text_of(page: str) -> str:
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", page)))


# ---------------------------------------------------------------- who may open it


def test_urls() -> None:
    assert reverse("program_report", args=[7]) == "/programs/7/report/"
    assert reverse("program_report_csv", args=[7]) == "/programs/7/report.csv"
    assert reverse("program_questions_csv", args=[7]) == "/programs/7/questions.csv"


@pytest.mark.parametrize("who", ["rep", "manager", "outsider"])
def test_only_program_managers_get_in(who: str, built: Built, request: pytest.FixtureRequest):
    """rep learns in the program and manager has reports in it: they know it exists (403);
    the outsider does not (404)."""
    client = client_for(request.getfixturevalue(who))
    for url in urls(built.program):
        response = client.get(url)
        assert response.status_code == (404 if who == "outsider" else 403), url
        assert b"l1@example.com" not in b"".join(
            getattr(response, "streaming_content", [response.content])
        )


def test_anonymous_is_sent_to_sign_in(built: Built) -> None:
    for url in urls(built.program):
        response = Client().get(url)
        assert response.status_code == 302
        assert "/login/" in response["Location"]


def test_unknown_program_is_404(enablement: User) -> None:
    assert client_for(enablement).get("/programs/999/report/").status_code == 404


def test_the_owner_who_is_not_enablement_gets_in(built: Built, manager: User) -> None:
    Program.objects.filter(pk=built.program.pk).update(owner=manager)
    for url in urls(built.program):
        assert client_for(manager).get(url).status_code == 200, url


def test_post_is_refused(built: Built, enablement: User) -> None:
    assert client_for(enablement).post(urls(built.program)[0]).status_code == 405


# ---------------------------------------------------------------- the page


@pytest.mark.parametrize("language", ["en", "ru"])
def test_report_renders_in_both_languages(built: Built, enablement: User, language: str):
    html = page_of(enablement, built.program, language)
    assert f'<html lang="{language}">' in html
    if language == "ru":
        assert "Перейти к содержимому" in html
    text = text_of(html)
    # Every section is there: funnel, chart, scores, NPS, comments, difficulty, tracks, re-read.
    for section in (
        "funnel-title",
        "over-time-title",
        "scores-title",
        "nps-title",
        "comments-title",
        "difficulty-title",
        "tracks-title",
        "reread-title",
    ):
        assert f'id="{section}"' in html
    assert "Which plan has SSO?" in text and "Insights works offline." in text
    assert "<polyline" in html and "<script" not in html.split("<main")[-1]


def test_funnel_bars(built: Built, enablement: User) -> None:
    html = page_of(enablement, built.program)
    # The page uses the real clock: the launch was months ago, so every released enrolment
    # that is not completed is overdue. 5 of 13 completed = 38%.
    completed = re.search(r'<li class="funnel-completed">(.*?)</li>', html, re.S)
    assert completed is not None
    assert "5" in completed.group(1) and 'width="38"' in completed.group(1)
    waiting = re.search(r'<li class="funnel-waiting">(.*?)</li>', html, re.S)
    assert waiting is not None and 'width="15"' in waiting.group(1)  # 2 of 13


def test_completion_chart_has_one_point_per_day(built: Built, enablement: User) -> None:
    html = page_of(enablement, built.program)
    points = re.search(r'<polyline class="chart-line" points="([^"]+)"', html)
    assert points is not None
    coords = [tuple(map(float, p.split(","))) for p in points.group(1).split()]
    assert len(coords) == 6  # day 1 to day 6 after launch
    assert coords[0][0] == 0 and coords[-1][0] == 100
    # y runs down from the top (13 enrolled) to 0: 5 completed sits at 40 - 40 * 5/13.
    assert coords[-1][1] == pytest.approx(40 - 40 * 5 / 13, abs=0.01)
    assert [c[1] for c in coords] == sorted((c[1] for c in coords), reverse=True)


def test_hardest_question_first_and_flagged(built: Built, enablement: User) -> None:
    html = page_of(enablement, built.program)
    table = html.split('difficulty-table">')[1].split("</table>")[0]
    rows = re.findall(r"<tr( class=\"is-hard\")?>(.*?)</tr>", table.split("<tbody>")[1], re.S)
    assert len(rows) == 2
    (hard, first), (easy, second) = rows
    assert "Insights works offline." in first and hard  # 3 of 7 right = 43%
    assert "43%" in first and "⚠" in first
    assert "Which plan has SSO?" in second and not easy and "57%" in second
    assert "⚠" not in second


def test_nps_hidden_below_five_answers(built: Built, enablement: User) -> None:
    for name, score in (("l1", 10), ("l2", 9), ("l3", 8), ("l4", 6)):
        answer_survey(built, name, score, comment=f"Secret from {name}")
    text = text_of(page_of(enablement, built.program))
    assert "Not enough answers yet (n < 5)" in text
    assert "4 answers so far" in text
    assert "Secret from" not in text
    assert "95% interval" not in text


def test_nps_shown_at_five_answers_with_interval_and_anonymous_comments(
    built: Built, enablement: User, admin: User
) -> None:
    for name, score in (("l1", 10), ("l2", 9), ("l3", 8), ("l4", 6), ("l5", 10)):
        answer_survey(built, name, score, comment=f"Comment from {name}")
    expected = surveys.nps([10, 9, 8, 6, 10], min_n=5)
    assert expected.ci_low is not None and expected.ci_high is not None
    text = text_of(page_of(enablement, built.program))
    assert "Not enough answers yet" not in text
    assert f"n = 5 · 95% interval: {round(expected.ci_low)} to {round(expected.ci_high)}" in text
    assert "3 promoters (9\u201310)" in text and "1 detractor (0\u20136)" in text
    assert "Comment from l3" in text
    assert "Shown without names" in text
    for name in ("L1", "L2", "L3"):  # display names of the respondents
        assert f"— {name}," not in text

    admin_text = text_of(page_of(admin, built.program))
    assert "— L3," in admin_text and "Comment from l3" in admin_text


def test_tracks_and_reread_tables(built: Built, enablement: User) -> None:
    card = built.card_step.card
    enrolment.mark_card_changed(card.pk, card.version + 1)
    html = page_of(enablement, built.program)
    tracks = text_of(html.split('id="tracks-title"')[1].split("</table>")[0])
    assert "Sales 6 3 · 50%" in tracks
    assert "Support 3 1 · 33%" in tracks
    assert "Shared track only 4 1 · 25%" in tracks
    reread = text_of(html.split('id="reread-title"')[1].split("</table>")[0])
    # All seven readers are asked to re-read; l1 acknowledges again and has caught up.
    assert f"{built.card_step.title} 0 of 7 7" in reread
    enrolment.complete_step(enrollment=built.enrollment("l1"), step=built.card_step)
    reread = text_of(page_of(enablement, built.program).split('id="reread-title"')[1])
    assert f"{built.card_step.title} 1 of 7 6" in reread


def test_empty_draft_program(make_program, enablement: User) -> None:
    program = make_program(shared=["card"])
    text = text_of(page_of(enablement, program))
    assert "Nobody is enrolled yet: launch the program" in text
    assert "Nobody has completed the program yet." in text
    assert "This program has no quiz questions." in text


def test_page_queries_do_not_grow_with_learners(built: Built, enablement: User) -> None:
    client = client_for(enablement)
    url = reverse("program_report", args=[built.program.pk])
    for name, score in (("l1", 10), ("l2", 9), ("l3", 8), ("l4", 6), ("l5", 10)):
        answer_survey(built, name, score, comment="ok")
    client.get(url)  # warm the session
    with CaptureQueriesContext(connection) as first:
        assert client.get(url).status_code == 200
    for i in range(5):
        person = make_user(f"more{i}@example.com", job_function=JobFunction.SUPPORT)
        built.people[f"more{i}"] = person
        built.program.audience_users.add(person)
    enrolment.sync_audience(built.program, now=LAUNCH)
    for i in range(5):
        built.finish(f"more{i}", day=4, minutes=5, quiz=(True, False))
        answer_survey(built, f"more{i}", 7, comment=f"more {i}")
    with CaptureQueriesContext(connection) as second:
        assert client.get(url).status_code == 200
    assert len(second) == len(first)
    assert len(second) <= 16, [q["sql"][:90] for q in second.captured_queries]


# ---------------------------------------------------------------- CSV


def download(user: User, url: str, language: str = "en") -> tuple[object, str]:
    response = client_for(user).get(url, HTTP_ACCEPT_LANGUAGE=language)
    assert response.status_code == 200
    assert response.streaming
    body = b"".join(response.streaming_content)
    assert body.startswith(b"\xef\xbb\xbf")  # Excel needs the BOM to read UTF-8
    return response, body.decode("utf-8-sig")


def test_enrolment_csv(built: Built, enablement: User) -> None:
    User.objects.filter(pk=built.people["l1"].pk).update(name="Ирина Смирнова")
    response, text = download(enablement, reverse("program_report_csv", args=[built.program.pk]))
    assert response["Content-Type"] == "text/csv; charset=utf-8"  # type: ignore[index]
    disposition = response["Content-Disposition"]  # type: ignore[index]
    assert disposition.startswith("attachment;") and "enrolments.csv" in disposition
    assert response["Cache-Control"] == "private, no-store"  # type: ignore[index]
    header, *rows = list(csv.reader(io.StringIO(text)))
    assert header[:3] == ["Name", "Email", "Manager email"]
    assert len(rows) == 13
    l1 = next(r for r in rows if r[1] == "l1@example.com")
    assert l1[0] == "Ирина Смирнова"


def test_enrolment_csv_keeps_the_language_of_the_request(built: Built, enablement: User) -> None:
    """The rows are produced while the response streams, after the view returned and
    whatever else the thread does meanwhile: the request's language must still apply."""
    url = reverse("program_report_csv", args=[built.program.pk])
    response = client_for(enablement).get(url, HTTP_ACCEPT_LANGUAGE="ru")
    with translation.override("en"):
        text = b"".join(response.streaming_content).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    l1 = next(r for r in rows if r[1] == "l1@example.com")
    assert l1[3] == "Продажи"

    _response, english = download(enablement, url)
    l1 = next(r for r in csv.reader(io.StringIO(english)) if r[1] == "l1@example.com")
    assert l1[3] == "Sales"


def test_question_csv(built: Built, enablement: User) -> None:
    response, text = download(enablement, reverse("program_questions_csv", args=[built.program.pk]))
    assert "questions.csv" in response["Content-Disposition"]  # type: ignore[index]
    header, *rows = list(csv.reader(io.StringIO(text)))
    assert header[1] == "Question"
    assert [r[1] for r in rows] == ["Which plan has SSO?", "Insights works offline."]


# ---------------------------------------------------------------- in a browser

SHOTS = os.environ.get("VERITY_SHOTS", "")
SIZES = {"laptop": {"width": 1280, "height": 800}, "phone": {"width": 390, "height": 844}}


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
def test_report_in_a_browser(page: Page, live_server, built: Built, enablement: User) -> None:  # type: ignore[no-untyped-def]
    """The report opens in Chromium without JavaScript errors, fits a phone without
    sideways scrolling, and its CSV link downloads. VERITY_SHOTS=/dir saves screenshots."""
    comments = {
        "l1": "Clear and short. The pricing quiz made me reread the card, in a good way.",
        "l2": "Would like more examples from real calls.",
        "l3": "Отличный курс, но видео слишком длинное.",
        "l4": "",
        "l5": "The SSO question was confusing.",
    }
    for (name, comment), score in zip(comments.items(), (10, 9, 8, 6, 10), strict=True):
        answer_survey(built, name, score, comment=comment)
    card = built.card_step.card
    enrolment.mark_card_changed(card.pk, card.version + 1)
    enrolment.complete_step(enrollment=built.enrollment("l1"), step=built.card_step)

    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    base = live_server.url
    page.goto(f"{base}/login/?next=/programs/{built.program.pk}/report/")
    page.get_by_label("Email").fill(enablement.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(f"{base}/programs/{built.program.pk}/report/")
    expect(page.get_by_role("heading", name="Program report")).to_be_visible()
    expect(page.locator(".nps-big strong")).to_have_text("40")
    expect(page.locator(".difficulty-table tbody tr").first).to_contain_text(
        "Insights works offline."
    )

    with page.expect_download() as download_info:
        page.get_by_role("link", name="Enrolments (CSV)").click()
    path = download_info.value.path()
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")

    for label, size in SIZES.items():
        page.set_viewport_size(size)
        page.evaluate("window.scrollTo(0, 0)")
        width = page.evaluate("document.scrollingElement.scrollWidth")
        assert width <= size["width"], (label, width)
        # Nor do the report's tables need scrolling inside their frames.
        clipped = page.evaluate(
            """() => [...document.querySelectorAll('.report-table')]
                .filter(t => t.scrollWidth > t.parentElement.clientWidth)
                .map(t => t.className)"""
        )
        assert clipped == [], (label, clipped)
        if SHOTS:
            Path(SHOTS).mkdir(parents=True, exist_ok=True)
            page.screenshot(path=f"{SHOTS}/report-{label}.png", full_page=True)
            page.screenshot(path=f"{SHOTS}/report-{label}-top.png")
    assert errors == []
