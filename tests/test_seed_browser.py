"""A real headless Chromium (JavaScript off) reads the seed page: one request in all, every click lands."""

from __future__ import annotations

import pytest

from mirror import build
from tests.browser import chromium, serve_logged
from tests.conftest import ROOT

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    out = tmp_path_factory.mktemp("b") / "site"
    build.build_site(ROOT / "site", out)
    with serve_logged(out) as served:
        yield served


LANDED = """id => {
  const el = document.getElementById(id);
  if (!el) return 'missing';
  const top = el.getBoundingClientRect().top;
  const atBottom = Math.ceil(window.scrollY + window.innerHeight) >= document.documentElement.scrollHeight - 1;
  return (Math.abs(top) <= 24 || atBottom) ? 'ok' : `top=${top}`;
}"""


@pytest.mark.parametrize("viewport", [{"width": 1000, "height": 800}, {"width": 375, "height": 700}])
def test_every_in_page_link_lands_on_its_target_with_one_request_in_all(served, viewport):
    server, url = served
    server.seen.clear()
    with chromium(javascript=False) as open_page:
        session = open_page(viewport=viewport)
        page = session.page
        page.goto(url)
        links = page.locator("a[href^='#']")
        count = links.count()
        assert count > 30
        failures = []
        for n in range(count):
            link = links.nth(n)
            target = link.get_attribute("href")[1:]
            if link.is_visible() and link.bounding_box()["x"] >= 0:
                link.click()
            else:  # the skip link shows only when focused, as for a keyboard user
                link.focus()
                page.keyboard.press("Enter")
            page.wait_for_function("h => location.hash === h", arg=f"#{target}", timeout=2000)
            result = page.evaluate(LANDED, target)
            if result != "ok":
                failures.append((n, target, result))
        assert not failures, failures
        assert not [m for m in session.console if "Content Security Policy" in m], session.console
    assert session.requests == [url], f"the browser requested more than the page: {session.requests}"
    assert server.seen == ["/"], f"the server saw more than one request: {server.seen}"
