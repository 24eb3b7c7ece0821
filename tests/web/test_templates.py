"""Template source checks that rendering alone would not catch everywhere."""

from __future__ import annotations

from pathlib import Path

TEMPLATES = Path(__file__).resolve().parents[2] / "verity" / "templates"


def test_no_comment_spans_lines() -> None:
    """Django's {# #} comments end at the line: one spread over lines is shown on the page
    as text ({% comment %} is the multi-line form)."""
    unclosed = [
        f"{path.relative_to(TEMPLATES)}:{number}"
        for path in sorted(TEMPLATES.rglob("*.html"))
        for number, line in enumerate(path.read_text().splitlines(), start=1)
        if line.count("{#") != line.count("#}")
    ]
    assert len(list(TEMPLATES.rglob("*.html"))) > 50  # the templates were found
    assert unclosed == []
