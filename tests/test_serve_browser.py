"""A real headless Chromium reads the seed page from `mirror serve`: the CSP header lets the page's own style
through, blocks nothing it needs, and the page costs one request."""

from __future__ import annotations

import pytest

from mirror import build, serve
from tests.browser import chromium
from tests.conftest import ROOT

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    out = tmp_path_factory.mktemp("browser") / "site"
    build.build_site(ROOT / "site", out)
    with serve.start(out) as running:
        yield running


def test_the_seed_page_renders_styled_under_the_servers_headers_and_a_404_is_a_404(server):
    with chromium(javascript=False) as open_page:
        session = open_page()
        response = session.page.goto(server.url)
        headers = response.all_headers()
        background = session.page.evaluate("getComputedStyle(document.body).backgroundColor")
        missing = open_page()
        not_found = missing.page.goto(server.url + "no-such-page")
    assert response.status == 200
    assert "frame-ancestors 'none'" in headers["content-security-policy"]
    assert headers["referrer-policy"] == "no-referrer" and "server" not in headers
    assert background == "rgb(251, 248, 242)"  # the inline style, allowed by its hash, was applied
    # The page's own policy blocks its <link rel=icon href="data:,"> (there only to stop a favicon
    # request); that is the page's business. Nothing the server adds may block anything else.
    blocked = [line for line in session.console
               if "Content Security Policy" in line and "'data:,'" not in line]
    assert not blocked, session.console
    assert session.requests == [server.url]
    assert not_found.status == 404 and missing.requests == [server.url + "no-such-page"]
