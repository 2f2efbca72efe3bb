"""The sanitizer's output read by Firefox ESR, the engine of Tor Browser, with its Safest preferences: every
request Firefox makes goes through a logging proxy on 127.0.0.1 that forwards only to the test server, so
the log shows what the reader's browser asked for, whatever answered (tests/firefox_oracle.py).

The readability pages are read as served by mirror.serve; then they and every XSS and leak vector are read
with their CSP taken out and JavaScript ON, so the markup alone must stay quiet and no script may run
(a dialog counts). Firefox's own ways to fetch (tests/firefox_vectors.py) are each seen fetching remotely
as they are, and fetching nothing once sanitized. A control proves the oracle sees what an unsanitized
page loads; the single-document build, clicked through, is one request.
"""

from __future__ import annotations

import time
from urllib.parse import urlsplit

import pytest

from mirror import serve, site_import
from tests import firefox_vectors, single_site
from tests.browser import serve_logged
from tests.firefox_oracle import BEFORE, FAVICON, SETTLE, files_of, firefox_oracle, pages_of, without_csp
from tests.logging_proxy import Request
from tests.test_single_browser import STATE, firefox_steps, run_session

pytestmark = pytest.mark.browser

QUIET = {"outside": {}, "not in the build": {}, "dialogs": {}, "stalled": {}}


@pytest.fixture(scope="module")
def oracle():
    with firefox_oracle() as oracle:
        yield oracle


@pytest.fixture(scope="module")
def safest_readability(oracle, readability):
    """The 130 pages served by mirror.serve (CSP headers and all) and read with JavaScript off."""
    _, out, _ = readability
    with serve.start(out) as server:
        return oracle.read(server.url, pages_of(out)), out


@pytest.fixture(scope="module")
def bare(readability, vectors, tmp_path_factory):
    """Both corpora's builds with each page's CSP taken out."""
    builds = {"readability": readability[1], "vectors": vectors[0]}
    return {name: without_csp(out, tmp_path_factory.mktemp(f"{name}-bare") / "site")
            for name, out in builds.items()}


@pytest.mark.corpus
def test_safest_firefox_asks_the_server_of_the_readability_build_for_its_own_files_only(safest_readability):
    reading, out = safest_readability
    assert set(reading.requests) == {BEFORE, *pages_of(out)}  # each page was seen loading
    assert reading.findings(files_of(out)) == QUIET
    icons = [r.url for requests in reading.requests.values() for r in requests if r.url.endswith(FAVICON)]
    assert icons == []  # every page names its (empty) icon, so Firefox does not ask for /favicon.ico


@pytest.mark.corpus
@pytest.mark.parametrize("corpus", ["readability", "vectors"])
def test_without_their_csp_and_with_javascript_on_the_pages_make_no_outside_request(oracle, bare, corpus):
    with serve_logged(bare[corpus]) as (_, base):
        reading = oracle.read(base, pages_of(bare[corpus]), javascript=True)
    assert len(reading.requests) > 130 and set(reading.requests) == {BEFORE, *pages_of(bare[corpus])}
    assert reading.findings(files_of(bare[corpus])) == QUIET


@pytest.mark.corpus
def test_no_page_of_the_readability_build_is_fetched_as_an_image(safest_readability):
    """<img src=""> on 9 pages (cnn has four) once became <img src="PAGE.html">: the page fetched itself."""
    reading, _ = safest_readability
    assert reading.pages_fetched_as_subresources() == {}


@pytest.mark.corpus
def test_an_empty_css_url_in_a_vector_fetches_nothing(oracle, bare):
    """h5sc-041's <li style=list-style:url()> once became list-style:url(index.html)."""
    with serve_logged(bare["vectors"]) as (_, base):
        reading = oracle.read(base, ["h5sc-041/index.html"])
    assert reading.pages_fetched_as_subresources() == {}


@pytest.fixture(scope="module")
def fetch_vectors(tmp_path_factory):
    """tests/firefox_vectors.py's pages as they are, and built (their CSP taken out)."""
    source = tmp_path_factory.mktemp("firefox-vectors")
    for name, html in firefox_vectors.pages().items():
        (source / name).write_text(html, "utf-8")
    out = tmp_path_factory.mktemp("firefox-vectors-build") / "site"
    site_import.build_from(source, out)
    return source, without_csp(out, out.parent / "bare")


def test_each_firefox_fetch_vector_loads_remotely_as_it_is_and_nothing_once_sanitized(oracle, fetch_vectors):
    source, bare = fetch_vectors
    with serve_logged(source) as (_, base):
        raw = oracle.read(base, pages_of(source)).findings(files_of(source))["outside"]
    asked = {urlsplit(url).hostname for urls in raw.values() for url in urls}  # a prefetch may come late
    quiet = [name for name in firefox_vectors.VECTORS if f"{name}.example" not in asked]
    assert quiet == []  # the control: each one does make Firefox ask its remote host
    with serve_logged(bare) as (_, base):
        reading = oracle.read(base, pages_of(bare))
    assert reading.findings(files_of(bare)) == QUIET


CONTROL = """<!DOCTYPE html><html><head><title>raw</title>
<link rel="stylesheet" href="http://style.example/site.css">
<link rel="prefetch" href="http://prefetch.example/next">
</head><body><p>Not sanitized.</p><img src="http://image.example/pixel.gif" alt="">
<img src="missing.png" alt="">
<script>new Image().src = "http://script.example/ran"; alert("ran");</script></body></html>"""
REMOTE = {"http://style.example/site.css", "http://prefetch.example/next", "http://image.example/pixel.gif"}


@pytest.mark.parametrize("javascript", [False, True])
def test_control_an_unsanitized_page_shows_its_remote_loads_in_the_log(oracle, tmp_path, javascript):
    (tmp_path / "raw.html").write_text(CONTROL)
    with serve_logged(tmp_path) as (server, base):
        found = oracle.read(base, ["raw.html"], javascript=javascript).findings({"raw.html"})
    outside = set(found["outside"]["raw.html"])
    assert REMOTE <= outside, outside
    assert ("http://script.example/ran" in outside) is javascript  # Safest means no script ran
    assert found["dialogs"] == ({"raw.html": ["ran"]} if javascript else {})
    assert found["not in the build"] == {"raw.html": ["/missing.png"]}
    assert set(server.seen) <= {"/raw.html", "/missing.png", FAVICON}  # the proxy forwarded nothing else


def test_single_document_build_clicked_through_back_and_forward_is_one_request(oracle, tmp_path):
    source = tmp_path / "source"
    for rel, data in single_site.files().items():
        (source / rel).parent.mkdir(parents=True, exist_ok=True)
        (source / rel).write_bytes(data)
    site_import.build_from(source, tmp_path / "one", single_document=True)
    ff, proxy = oracle.ff, oracle.proxy
    with serve.start(tmp_path / "one") as server:
        ff.set_prefs({"javascript.enabled": False})
        proxy.allow(server.url)
        proxy.take()
        problems = run_session(firefox_steps(ff, server.url), lambda: ff.evaluate(STATE))
        time.sleep(SETTLE)
    assert not problems, problems
    assert proxy.take() == [Request("GET", server.url, "document")]
