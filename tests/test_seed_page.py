"""The seed page built from site/: faithful to the seed text, script-free, request-free, only local clicks."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from selectolax.lexbor import LexborHTMLParser

from mirror import build
from tests.conftest import ROOT, SHARED
from tests.pages import hrefs, ids, normalise, visible_text

# The old layout cut the first letter off these paragraphs (it was a drop-cap image).
RESTORED = {
    "he period": "The period", "he harsh": "The harsh", "uring this period": "During this period",
    "istory has": "History has", "n the other hand": "On the other hand", "hile it may": "While it may",
    "his brings": "This brings", "propose that": "I propose that", "yberLeninism": "CyberLeninism",
}
FETCHING_ATTRS = ("src", "srcset", "data", "poster", "background", "lowsrc", "ping", "action", "formaction",
                  "manifest", "longdesc", "usemap", "xlink:href")


@pytest.fixture(scope="module")
def page(tmp_path_factory) -> str:
    out = tmp_path_factory.mktemp("build") / "site"
    build.build_site(ROOT / "site", out)
    return (out / "index.html").read_text(encoding="utf-8")


def seed_lines() -> list[str]:
    """The seed's lines (or the project's own excerpt when ../shared is absent), restored and normalised."""
    seed = SHARED / "seed" / "000_ed127edc4fba9c96.txt"
    path = seed if seed.exists() else ROOT / "tests" / "fixtures" / "seed_excerpt.txt"
    lines = []
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = normalise(raw.replace("\u2022", ""))
        for cut, whole in RESTORED.items():
            if line.startswith(cut):
                line = whole + line[len(cut):]
        if line:
            lines.append(line)
    return lines


def test_every_line_of_the_seed_is_in_the_page_in_order(page):
    text = visible_text(page)
    position, lost = 0, []
    for line in seed_lines():
        found = text.find(line, position)
        if found < 0:
            lost.append(line[:80])
        else:
            position = found + len(line)
    assert not lost, f"{len(lost)} seed line(s) missing or out of order: {lost[:5]}"


def test_drop_cap_letters_are_restored_in_the_text_not_cut(page):
    text = visible_text(page)
    for whole in RESTORED.values():
        assert whole in text
    assert " he period" not in text and "\nistory" not in text
    assert page.count('class="dropcap"') >= 12


def test_no_script_no_handler_no_javascript_url(page):
    tree = LexborHTMLParser(page)
    assert not tree.css("script, noscript, iframe, object, embed, form, svg, math, img, link[rel=stylesheet]")
    for node in tree.css("*"):
        for name, value in node.attributes.items():
            assert not name.lower().startswith("on"), f"<{node.tag} {name}>"
            assert "javascript:" not in (value or "").lower(), f"<{node.tag} {name}={value!r}>"


def test_nothing_a_browser_would_fetch(page):
    tree = LexborHTMLParser(page)
    for node in tree.css("*"):
        fetching = set(node.attributes) & set(FETCHING_ATTRS)
        assert not fetching, f"<{node.tag}> has {fetching}"
    icons = [n.attributes.get("href") for n in tree.css("link")]
    assert icons == ["data:,"], "only the empty favicon link, which stops the favicon request"
    assert not re.search(r"url\(|@import|@font-face", tree.css_first("style").text())


def test_every_link_is_an_in_page_anchor_that_resolves(page):
    targets = ids(page)
    links = hrefs(page)
    assert len(links) > 30
    for href in links:
        assert href.startswith("#"), f"link leaves the page: {href}"
        assert href[1:] in targets, f"{href} points at no id"


def test_navigation_of_the_original_becomes_local_anchors(page):
    links = hrefs(page)
    assert links.count("#top") == 11, "every section ends with 'Beam me up, Scotty' back to the top"
    assert links.count("#questions") == 10, "every answer ends with 'More questions'"
    for section in ("proletariat-ascendant", "manifesto", "help", "security"):
        assert f"#{section}" in links, f"the table of contents links {section}"


def test_urls_in_the_text_are_copyable_text_not_links(page):
    text = visible_text(page)
    for url in ("http://struggle.net/ben", "www.hotmail.com", "www.geocities.com"):
        assert url in text
        assert f'href="{url}' not in page


def test_content_security_policy_forbids_script_and_remote_loads(page):
    tree = LexborHTMLParser(page)
    meta = tree.css_first('meta[http-equiv="Content-Security-Policy"]')
    policy = meta.attributes["content"]
    assert "default-src 'none'" in policy
    assert "base-uri 'none'" in policy and "form-action 'none'" in policy
    assert "script-src" not in policy and "unsafe-inline" not in policy
    import base64
    import hashlib
    css = tree.css_first("style").text()
    digest = base64.b64encode(hashlib.sha256(css.encode()).digest()).decode()
    assert f"style-src 'sha256-{digest}'" in policy


def test_semantics_lang_headings_skip_link(page):
    tree = LexborHTMLParser(page)
    assert tree.css_first("html").attributes.get("lang") == "en"
    assert len(tree.css("h1")) == 1 and len(tree.css("h2")) >= 10
    skip = tree.css_first("a.skip")
    assert skip is not None and skip.attributes["href"] == "#main"
    chart = tree.css_first("figure pre")
    assert chart is not None and "1990 1995 2000" in chart.text()
    assert tree.css_first("figure figcaption") is not None


def test_no_stamp_of_tool_time_host_or_user(page):
    import getpass
    import socket
    lowered = page.lower()
    for leak in ("generator", "mirror 0.", getpass.getuser().lower() + "@", socket.gethostname().lower(),
                 str(Path.home()).lower(), "2026"):
        assert leak not in lowered, leak
