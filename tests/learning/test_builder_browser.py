"""Browser journey through the program builder (Debian's Chromium): create a program, pick a
card from search, add a lesson and a quiz with a question, reorder with htmx, launch.

Set VERITY_SHOTS=/some/dir to also save screenshots at laptop and phone widths.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.conftest import PASSWORD, make_user
from verity.accounts.models import Group, JobFunction, SiteRole
from verity.knowledge import services as knowledge
from verity.learning.models import Program, ProgramStatus, Step

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

SHOTS = os.environ.get("VERITY_SHOTS", "")
AXE = Path(__file__).parents[1] / "e2e" / "vendor" / "axe-4.10.2.min.js"
SIZES = {"laptop": {"width": 1280, "height": 800}, "phone": {"width": 390, "height": 844}}


def shoot(page: Page, name: str) -> None:
    if not SHOTS:
        return
    Path(SHOTS).mkdir(parents=True, exist_ok=True)
    original = page.viewport_size
    page.evaluate("window.scrollTo(0, 0)")  # the sticky top bar would land mid-page
    for label, size in SIZES.items():
        page.set_viewport_size(size)
        page.screenshot(path=f"{SHOTS}/{name}-{label}.png", full_page=True)
    if original:
        page.set_viewport_size(original)


def serious_violations(page: Page) -> list[str]:
    """axe-core's serious and critical findings on the current page."""
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    return [
        f"{v['id']} ({v['impact']}): {v['help']} — {[n['target'] for n in v['nodes']][:3]}"
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]


def test_build_a_program_from_cards_and_a_quiz(page: Page, live_server) -> None:  # type: ignore[no-untyped-def]
    admin = make_user("admin@example.com", site_role=SiteRole.ADMIN, is_staff=True)
    builder = make_user("enablement@example.com", job_function=JobFunction.ENABLEMENT)
    manager = make_user("manager@example.com", job_function=JobFunction.LEADERSHIP)
    make_user("rep@example.com", job_function=JobFunction.SALES, manager=manager)
    team = Group.objects.create(name="Enablement team")
    team.members.add(builder)
    playbook = knowledge.collection_create(user=admin, name="Sales Playbook")
    hidden = knowledge.collection_create(user=admin, name="Board papers")
    knowledge.collection_grant(user=admin, collection=playbook, group=team, role="read")
    for title in ("Pricing and discounts", "Pricing objections"):
        knowledge.card_create(
            user=admin, collection=playbook, title=title, content="How we talk about pricing."
        )
    knowledge.card_create(
        user=admin, collection=hidden, title="Pricing board memo", content="Pricing secrets."
    )

    base = live_server.url
    page.goto(f"{base}/login/?next=/programs/")
    page.get_by_label("Email").fill(builder.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(f"{base}/programs/")
    expect(page.get_by_text("No programs yet")).to_be_visible()

    page.get_by_role("link", name="New program").first.click()
    page.get_by_label("Name").fill("Launch: Atlas")
    page.get_by_label("Kind").select_option("launch")
    page.get_by_label("Sales", exact=True).check()
    page.get_by_label("A number of days after enrolment").check()
    page.get_by_label("Days after enrolment", exact=True).fill("14")
    page.get_by_label("Leaders first").check()
    shoot(page, "program-form")
    page.get_by_role("button", name="Create program").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Launch: Atlas")

    # Pick cards from search (htmx): only readable cards are offered.
    page.get_by_label("Add cards from search").fill("pricing")
    results = page.locator(".picker-list")
    expect(results).to_contain_text("Pricing objections")
    expect(results).not_to_contain_text("Pricing board memo")
    page.get_by_role("button", name="Add Pricing and discounts").click()
    expect(page.locator(".step-list")).to_contain_text("Pricing and discounts")
    page.get_by_label("Add cards from search").fill("objections")
    page.get_by_role("button", name="Add Pricing objections").click()
    expect(page.locator(".step-row")).to_have_count(2)

    # A lesson through the kind picker and the step form.
    page.get_by_label("Or add a step").select_option("lesson")
    page.get_by_placeholder("Title").fill("Why Atlas")
    page.get_by_role("button", name="Add step…").click()
    page.get_by_label("Text (Markdown)").fill("Atlas **saves** a day a week.")
    page.get_by_label("Video link").fill("https://video.example/atlas")
    shoot(page, "step-form")
    page.get_by_role("button", name="Add step").click()
    expect(page.locator(".step-row")).to_have_count(3)

    # A quiz: straight to its editor.
    page.get_by_label("Or add a step").select_option("quiz")
    page.get_by_placeholder("Title").fill("Atlas check")
    page.get_by_role("button", name="Add step…").click()
    page.get_by_role("button", name="Add step").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Atlas check")
    page.get_by_label("Question").fill("How much time does Atlas save?")
    page.get_by_placeholder("Answer 1").fill("A day a week")
    page.get_by_placeholder("Answer 2").fill("An hour a year")
    page.locator('input[name="correct"][value="0"]').check()
    page.get_by_label("Explanation").fill("The lesson says a day a week.")
    page.get_by_role("button", name="Add question").click()
    expect(page.locator(".question-item")).to_have_count(1)
    page.get_by_label("Kind").select_option("true_false")
    expect(page.get_by_placeholder("Answer 1")).to_be_hidden()
    page.get_by_label("Question").fill("Atlas replaces the CRM.")
    page.get_by_label("False").check()
    page.get_by_role("button", name="Add question").click()
    expect(page.locator(".question-item")).to_have_count(2)
    shoot(page, "quiz-editor")

    # Reorder with htmx: the lesson goes first.
    page.get_by_role("link", name="Back to the program").click()
    page.get_by_role("button", name="Move Why Atlas up").click()
    expect(page.locator(".step-row").nth(1)).to_contain_text("Why Atlas")  # swapped in place
    page.get_by_role("button", name="Move Why Atlas up").click()
    expect(page.locator(".step-row").first).to_contain_text("Why Atlas")
    shoot(page, "builder")
    program = Program.objects.get()
    titles = list(
        Step.objects.filter(track__program=program)
        .order_by("position")
        .values_list("title", flat=True)
    )
    assert titles == ["Why Atlas", "Pricing and discounts", "Pricing objections", "Atlas check"]

    page.get_by_text("Launch…").click()
    expect(page.locator(".launch-confirm")).to_contain_text("1 person")
    expect(page.locator(".launch-confirm")).to_contain_text("1 more manager")
    page.get_by_role("button", name="Launch and enrol them").click()
    expect(page.get_by_text("Who is waiting on whom")).to_be_visible()
    program.refresh_from_db()
    assert program.status == ProgramStatus.ACTIVE
    shoot(page, "builder-active")

    page.goto(f"{base}/programs/")
    expect(page.get_by_role("link", name="Launch: Atlas")).to_be_visible()
    shoot(page, "program-list")

    # Accessibility of every builder page, light and dark.
    quiz = Step.objects.get(track__program=program, kind="quiz")
    lesson = Step.objects.get(track__program=program, kind="lesson")
    for scheme in ("light", "dark"):
        page.emulate_media(color_scheme=scheme)
        for url in (
            "/programs/",
            "/programs/new/",
            f"/programs/{program.pk}/",
            f"/programs/{program.pk}/edit/",
            f"/programs/{program.pk}/steps/{quiz.pk}/quiz/",
            f"/programs/{program.pk}/steps/{lesson.pk}/edit/",
        ):
            page.goto(f"{base}{url}")
            assert serious_violations(page) == [], (scheme, url)
