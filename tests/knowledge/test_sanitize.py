"""Rendered Markdown keeps formatting and loses every script, handler and dangerous URL."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from urllib.parse import urlsplit

import pytest

from verity.lib.markdown import render_markdown

XSS_PAYLOADS = [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "<svg onload=alert(1)>",
    '<a href="javascript:alert(1)">x</a>',
    "[x](javascript:alert(1))",
    "[x](JaVaScRiPt:alert(1))",
    "[x](  javascript:alert(1))",
    "[x](java&#x09;script:alert(1))",
    "![x](javascript:alert(1))",
    '<iframe src="https://evil.example"></iframe>',
    "<body onload=alert(1)>",
    '<div style="background:url(javascript:alert(1))">x</div>',
    '<a href="data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==">x</a>',
    '<math><mi xlink:href="javascript:alert(1)">x</mi></math>',
    '<object data="javascript:alert(1)"></object>',
    '<embed src="javascript:alert(1)">',
    '<form action="javascript:alert(1)"><button>x</button></form>',
    "<input onfocus=alert(1) autofocus>",
    "<details open ontoggle=alert(1)>",
    '<a href="vbscript:msgbox(1)">x</a>',
    '<meta http-equiv="refresh" content="0;url=javascript:alert(1)">',
    '<link rel=stylesheet href="javascript:alert(1)">',
    "<style>@import 'javascript:alert(1)';</style>",
    "<scr<script>ipt>alert(1)</script>",
    "<<script>script>alert(1)<</script>/script>",
    '<img src="x" onerror="alert(1)"/>',
    "<p onclick=alert(1)>click</p>",
    '<base href="javascript:alert(1)//">',
    "`<script>alert(1)</script>`",
    "<template><script>alert(1)</script></template>",
]

FORBIDDEN_TAGS = {"script", "iframe", "object", "embed", "form", "input", "style", "meta",
                  "link", "base", "svg", "math", "template", "body", "button"}  # fmt: skip
SAFE_SCHEMES = {"", "http", "https", "mailto", "tel"}


class LiveMarkup(HTMLParser):
    """Collects the tags and attributes a browser would actually create."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.attrs: list[tuple[str, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.attrs.extend((name, value or "") for name, value in attrs)


@pytest.mark.parametrize("payload", XSS_PAYLOADS)
def test_payload_is_neutralised(payload: str) -> None:
    html = render_markdown(f"Text before\n\n{payload}\n\nText after")
    markup = LiveMarkup()
    markup.feed(html)
    assert not FORBIDDEN_TAGS & set(markup.tags), html
    for name, value in markup.attrs:
        assert not name.startswith("on"), html
        assert name != "style", html
        if name in ("href", "src", "action", "formaction", "xlink:href"):
            # Browsers ignore whitespace and control characters inside a URL's scheme.
            scheme = urlsplit(re.sub(r"[\x00-\x20]", "", value)).scheme.lower()
            assert scheme in SAFE_SCHEMES, html
    assert "Text before" in html and "Text after" in html


def test_formatting_survives() -> None:
    html = render_markdown(
        "# Title\n\n**bold** _it_ `code` ~~old~~\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n"
        "[link](https://example.com) ![img](https://example.com/a.png)\n\n```\nblock\n```"
    )
    for fragment in ["<h1>Title</h1>", "<strong>bold</strong>", "<em>it</em>", "<code>code</code>",
                     "<s>old</s>", "<table>", "<td>1</td>", 'href="https://example.com"',
                     'src="https://example.com/a.png"', "<pre><code>block"]:  # fmt: skip
        assert fragment in html, fragment
    assert 'rel="noopener noreferrer nofollow"' in html
