"""A real headless Chromium (JavaScript off) reads the seed page: one request in all, every click lands."""

from __future__ import annotations

import functools
import http.server
import threading

import pytest

from mirror import build
from tests.browser import chromium
from tests.conftest import ROOT

pytestmark = pytest.mark.browser


class _LoggingHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):  # the test counts requests itself
        pass

    def do_GET(self):
        self.server.seen.append(self.path)
        super().do_GET()


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    out = tmp_path_factory.mktemp("b") / "site"
    build.build_site(ROOT / "site", out)
    handler = functools.partial(_LoggingHandler, directory=str(out))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.seen = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server, f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


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
