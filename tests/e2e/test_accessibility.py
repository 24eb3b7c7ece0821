"""axe-core (vendored, pinned: tests/e2e/vendor/axe-4.10.2.min.js) on the knowledge pages,
in the light and dark colour schemes. Serious and critical violations fail the test."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.test import Client

from verity.knowledge import services

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

AXE = Path(__file__).parent / "vendor" / "axe-4.10.2.min.js"


def violations(page) -> list[str]:
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    return [
        f"{v['id']} ({v['impact']}): {v['help']} — {[n['target'] for n in v['nodes']][:3]}"
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_knowledge_pages_have_no_serious_violations(browser, live_server, cast, scheme) -> None:
    folder = services.folder_create(
        user=cast.admin, collection=cast.sales_collection, name="Pricing"
    )
    services.card_update(
        user=cast.author,
        card=cast.sales_card,
        expected_version=1,
        content="## Rules\n\n| Discount | Approver |\n| --- | --- |\n| 15% | none |\n\n`code`",
        folder_ids=[folder.pk],
    )
    services.card_flag(user=cast.sales_reader, card=cast.sales_card, comment="Outdated numbers")
    client = Client()
    client.force_login(cast.curator)
    context = browser.new_context(viewport={"width": 1366, "height": 850}, color_scheme=scheme)
    context.add_cookies(
        [{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}]
    )
    page = context.new_page()
    card = cast.sales_card.pk
    slug = cast.sales_collection.slug
    urls = [
        "/",
        f"/cards/{card}/",
        f"/cards/{card}/edit/",
        f"/cards/{card}/history/",
        f"/cards/{card}/history/2/",
        "/queue/",
        "/collections/",
        f"/collections/{slug}/",
        f"/collections/{slug}/folders/{folder.pk}/",
        "/search/?q=discount",
    ]
    problems: dict[str, list[str]] = {}
    for url in urls:
        page.goto(live_server.url + url)
        found = violations(page)
        if found:
            problems[url] = found
    assert problems == {}
