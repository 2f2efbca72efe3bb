"""The dozen-page site as one document, read in real browsers with JavaScript off: every click shows the right
page, deep links land on their heading, back and forward return, and the server sees one request in all.

Chromium (Playwright, every request logged) and Firefox ESR with Tor Browser's Safest preferences
(Marionette). The fallback for browsers without ``:has()`` is forced by building with the switch block's
condition made false, exactly how such an engine reads it: all pages show, one after another, and links
still land.
"""

from __future__ import annotations

import pytest

from mirror import single, site_import
from tests import single_site
from tests.browser import chromium, serve_logged
from tests.firefox import firefox

pytestmark = pytest.mark.browser

STATE = """() => {
  const visible = e => e.getClientRects().length > 0 && e.getBoundingClientRect().height > 0;
  const shown = [...document.querySelectorAll('body>.page')].filter(visible).map(e => e.id);
  const hit = document.elementFromPoint(innerWidth / 2, innerHeight / 2);
  const target = document.querySelector(':target');
  const bar = document.querySelector('.m-bar').getBoundingClientRect();
  return {hash: decodeURIComponent(location.hash), shown,
          hit: hit && hit.closest('body>.page') ? hit.closest('body>.page').id : null,
          target: target ? (target.id || target.getAttribute('name')) : null,
          targetTop: target ? target.getBoundingClientRect().top : null, barVisible: bar.bottom > 0,
          atBottom: Math.ceil(scrollY + innerHeight) >= document.documentElement.scrollHeight - 1};
}"""

# (action, element id to click or None, page expected on screen, element expected at the top or None)
SESSION = [
    ("load", None, "p-home", None),
    ("click", "p-home--to-about", "p-about", None),
    ("click", "p-about--to-faq", "p-faq", None),
    ("click", "p-faq--to-q2", "p-faq", "p-faq--q2"),
    ("back", None, "p-faq", None),
    ("back", None, "p-about", None),
    ("back", None, "p-home", None),
    ("forward", None, "p-about", None),
    ("click", "p-about--to-home", "p-home", None),
    ("click", "p-home--to-usage", "p-docs-guide", "p-docs-guide--usage"),
    ("click", "p-docs-guide--to-fn-a", "p-docs-api-ref", "p-docs-api-ref--fn-a"),
    ("click", "p-docs-api-ref--to-guide-usage", "p-docs-guide", "p-docs-guide--usage"),
    ("click", "p-docs-guide--to-faq-q3", "p-faq", "p-faq--q3"),
    ("back", None, "p-docs-guide", "p-docs-guide--usage"),
    ("back", None, "p-docs-api-ref", "p-docs-api-ref--fn-a"),
    ("forward", None, "p-docs-guide", "p-docs-guide--usage"),
]


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    root = tmp_path_factory.mktemp("single")
    for name, css in (("one", single.framework_css()), ("fallback", without_has(single.framework_css()))):
        doc = _join_with(css)
        (root / name).mkdir()
        (root / name / "index.html").write_bytes(doc.files["index.html"])
    source = root / "source"  # the same site as files on disk, through `mirror build --from --single-document`
    for rel, data in single_site.files().items():
        (source / rel).parent.mkdir(parents=True, exist_ok=True)
        (source / rel).write_bytes(data)
    site_import.build_from(source, root / "sanitized", single_document=True)
    with serve_logged(root) as served:
        yield served


def without_has(css: str) -> str:
    """The framework CSS as an engine without :has() reads it: the switch block's condition is false."""
    assert css.count("@supports selector(:has(a))") == 1
    return css.replace("@supports selector(:has(a))", "@supports selector(:no-such-thing(a))")


def _join_with(css: str):
    original = single.framework_css
    single.framework_css = lambda: css
    try:
        return single.join_pages(single_site.pages(), single_site.assets())
    finally:
        single.framework_css = original


def check(state: dict, page: str, top: str | None, step) -> list:
    """Back and forward restore the scroll position the reader left (not the target's), so for them only
    the page and the target are checked."""
    problems = []
    if state["shown"] != [page] or state["hit"] != page:
        problems.append(f"{step}: shown {state['shown']}, under the eye {state['hit']}, wanted {page}")
    if top is None and not state["barVisible"]:
        problems.append(f"{step}: switched to {page} but the document's bar is scrolled out of view")
    if top is not None:
        if state["target"] != top:
            problems.append(f"{step}: target {state['target']}, wanted {top}")
        elif step[0] == "click" and not (abs(state["targetTop"]) <= 24 or state["atBottom"]):
            problems.append(f"{step}: {top} is at {state['targetTop']} px, not at the top")
    return problems


def run_session(do, state) -> list:
    problems = []
    for step in SESSION:
        action, element, page, top = step
        do(action, element)
        problems += check(state(), page, top, step[:2])
    return problems


def firefox_steps(ff, home: str):
    """``do(action, element)`` for ``run_session`` in a Marionette-driven Firefox that starts at ``home``."""
    def do(action, element):
        if action == "load":
            ff.navigate(home)
        elif action == "click":
            ff.click(f"[id='{element}']")
        else:
            getattr(ff, action)()
    return do


FALLBACK_STATE = """() => {
  const pages = [...document.querySelectorAll('body>.page')];
  const target = document.querySelector(':target');
  return {heights: pages.map(e => e.getBoundingClientRect().height), count: pages.length,
          targetTop: target ? target.getBoundingClientRect().top : null,
          target: target ? (target.id || target.getAttribute('name')) : null,
          atBottom: Math.ceil(scrollY + innerHeight) >= document.documentElement.scrollHeight - 1};
}"""

FALLBACK_CLICKS = [("p-home--to-about", "p-about"), ("p-about--to-faq", "p-faq"),
                   ("p-faq--to-q2", "p-faq--q2"), ("p-home--to-usage", "p-docs-guide--usage"),
                   ("p-docs-guide--to-fn-a", "p-docs-api-ref--fn-a")]


@pytest.mark.parametrize("build", ["one", "sanitized"])
def test_chromium_js_off_every_step_shows_the_right_page_with_one_request(served, build):
    server, url = served
    server.seen.clear()
    with chromium(javascript=False) as open_page:
        session = open_page(viewport={"width": 1000, "height": 700})
        page = session.page
        page.set_default_timeout(5000)  # a link on a hidden page fails fast

        def do(action, element):
            if action == "load":
                page.goto(url + build + "/")
            elif action == "click":
                page.click(f"[id='{element}']")
            else:
                getattr(page, f"go_{action}")()
            page.wait_for_timeout(50)
        problems = run_session(do, lambda: page.evaluate(STATE))
        page.click("text=Show all pages")  # every page at once, for Ctrl-F
        everything = page.evaluate(FALLBACK_STATE)
        page.go_back()
        page.emulate_media(media="print")  # and print shows every page too
        printed = page.evaluate(FALLBACK_STATE)
    assert not problems, problems
    for state in (everything, printed):
        assert state["count"] == 13 and all(h > 0 for h in state["heights"]), state
    assert session.requests == [url + build + "/"], session.requests
    assert server.seen == [f"/{build}/"], server.seen


def test_firefox_safest_every_step_shows_the_right_page_with_one_request(served):
    server, url = served
    server.seen.clear()
    with firefox(width=1000, height=700) as ff:
        ff.navigate("data:text/html,<noscript>off</noscript><p id=p>x</p>")
        assert ff.evaluate("() => document.body.textContent") in ("offx", "off x"), "JavaScript is not off"

        problems = run_session(firefox_steps(ff, url + "one/"), lambda: ff.evaluate(STATE))
        assert not problems, problems
        assert server.seen == ["/one/"], server.seen

        ff.navigate(url + "fallback/")  # and without :has(), every page shows and links land
        state = ff.evaluate(FALLBACK_STATE)
        assert state["count"] == 13 and all(h > 0 for h in state["heights"]), state
        for element, target in FALLBACK_CLICKS:
            ff.click(f"[id='{element}']")
            state = ff.evaluate(FALLBACK_STATE)
            assert state["target"] == target and (abs(state["targetTop"]) <= 24 or state["atBottom"]), state


def test_without_has_every_page_shows_and_links_still_land(served):
    server, url = served
    with chromium(javascript=False) as open_page:
        page = open_page(viewport={"width": 1000, "height": 700}).page
        page.set_default_timeout(5000)
        page.goto(url + "fallback/")
        state = page.evaluate(FALLBACK_STATE)
        assert state["count"] == 13 and all(h > 0 for h in state["heights"]), state
        problems = []
        for element, target in FALLBACK_CLICKS:
            page.click(f"[id='{element}']")
            page.wait_for_timeout(50)
            state = page.evaluate(FALLBACK_STATE)
            if state["target"] != target or not (abs(state["targetTop"]) <= 24 or state["atBottom"]):
                problems.append((element, state))
    assert not problems, problems


def test_from_file_a_deep_link_and_clicks_work_without_any_server(tmp_path):
    doc = single.join_pages(single_site.pages(), single_site.assets())
    path = tmp_path / "unzipped" / "index.html"
    path.parent.mkdir()
    path.write_bytes(doc.files["index.html"])
    with chromium(javascript=False) as open_page:
        session = open_page(viewport={"width": 1000, "height": 700})
        page = session.page
        page.set_default_timeout(5000)
        page.goto(path.as_uri() + "#p-docs-api-ref--fn-b")
        problems = check(page.evaluate(STATE), "p-docs-api-ref", "p-docs-api-ref--fn-b", ("click", "deep link"))
        page.click("[id='p-docs-api-ref--to-home-2']")
        problems += check(page.evaluate(STATE), "p-home", None, ("click", "home"))
    assert not problems, problems
    assert session.requests == [path.as_uri()], session.requests
