"""A site that misbehaves in every way the crawl must survive, crawled once; each test checks one case:
what was (or was not) requested at the server, what was stored, and the line in the report."""

from __future__ import annotations

import gzip
import json
import threading
import time

import pytest

from mirror import fetch
from mirror.fetch_http import Limits
from tests.fetch_server import Server

HOST = "site.test"
START = f"https://{HOST}/"
CP1252_PAGE = "<!DOCTYPE html><title>Café</title><p>Les élèves déjà présents à l'école, où ça?</p>".encode("cp1252")
KOI8_PAGE = "<!DOCTYPE html><title>Зеркало</title><p>Большой брат следит за вашими кликами.</p>".encode("koi8-r")
GZ_PAGE = b"<!DOCTYPE html><meta charset=utf-8><title>gz</title>" + b"<p>compressed on the wire</p>" * 2000
LINKS = ["/private/page", "/redirect-out", "/redirect-in", "/flaky", "/busy", "/calendar?month=0",
         "/huge-declared", "/huge-streamed", "/latin", "/koi8", "/stall", "/trickle", "/gz", "/page?PHPSESSID=aaa&utm_source=x",
         "/page?PHPSESSID=bbb", "/gone"]


def html(body: str) -> bytes:
    return f"<!DOCTYPE html><meta charset=utf-8><title>t</title>{body}".encode()


def add_routes(server: Server) -> dict:
    seen: dict = {"flaky": 0, "busy": []}
    anchors = "".join(f'<a href="{link}">{link}</a>' for link in LINKS)
    server.route("/", lambda h: h.send(200, html(anchors)))
    server.route("/robots.txt", lambda h: h.send(200, b"User-agent: *\nDisallow: /private/\n", "text/plain"))
    server.route("/redirect-out", lambda h: h.send(302, b"", headers={"Location": "https://elsewhere.test/x"}))
    server.route("/redirect-in", lambda h: h.send(301, b"", headers={"Location": "/target"}))
    server.route("/target", lambda h: h.send(200, html("<p>target</p>")))
    server.route("/page", lambda h: h.send(200, html("<p>one page, many session ids</p>")))

    def flaky(h):
        seen["flaky"] += 1
        h.send(503, b"busy") if seen["flaky"] < 3 else h.send(200, html("<p>third time lucky</p>"))

    def busy(h):
        seen["busy"].append(time.monotonic())
        h.send(429, b"slow down", headers={"Retry-After": "1"}) if len(seen["busy"]) == 1 \
            else h.send(200, html("<p>thanks for waiting</p>"))

    def calendar(h):
        month = int(h.path.split("=")[-1])
        h.send(200, html(f'<a href="/calendar?month={month + 1}">next</a><a href="/calendar?month={month - 1}">'
                         'previous</a>'))

    def huge_declared(h):
        h.send_response(200)
        h.send_header("Content-Type", "application/octet-stream")
        h.send_header("Content-Length", str(10**10))
        h.end_headers()
        h.done(0)

    def huge_streamed(h):
        h.send_response(200)
        h.send_header("Content-Type", "application/octet-stream")
        h.send_header("Connection", "close")
        h.end_headers()
        h.close_connection = True
        try:
            for _ in range(64):  # 64 MiB at most, far past the 1 MiB cap
                h.wfile.write(b"\0" * 2**20)
        except OSError:
            pass
        h.done(0)

    def stall(h):
        h.send_response(200)
        h.send_header("Content-Type", "text/html")
        h.send_header("Content-Length", "100000")
        h.end_headers()
        h.wfile.write(b"<!DOCTYPE html><p>and then nothing")
        h.wfile.flush()
        server.released.wait(30)
        h.close_connection = True

    def trickle(h):
        h.send_response(200)
        h.send_header("Content-Type", "text/html")
        h.end_headers()
        h.close_connection = True
        try:
            while not server.released.wait(0.1):  # a byte every 0.1 s: never a read timeout
                h.wfile.write(b" ")
                h.wfile.flush()
        except OSError:
            pass

    for path, handler in (("/flaky", flaky), ("/trickle", trickle), ("/busy", busy), ("/calendar", calendar), ("/stall", stall),
                          ("/huge-declared", huge_declared), ("/huge-streamed", huge_streamed)):
        server.route(path, handler)
    server.route("/latin", lambda h: h.send(200, CP1252_PAGE, "text/html; charset=utf-8"))
    server.route("/koi8", lambda h: h.send(200, KOI8_PAGE, "text/html; charset=koi8-r"))  # no <meta charset>
    server.route("/gone", lambda h: h.send(404, b"gone"))
    server.route("/gz", lambda h: h.send(200, gzip.compress(GZ_PAGE), headers={"Content-Encoding": "gzip"}))
    return seen


@pytest.fixture(scope="module")
def crawled(tmp_path_factory):
    folder = tmp_path_factory.mktemp("cases")
    with Server() as server:
        seen = add_routes(server)
        limits = Limits(read_timeout=0.5, max_time=1.5, max_size=2**20, retries=2, backoff=0.1)
        options = fetch.Options(max_per_pattern=5, limits=limits, connect_to={HOST: server.address})
        started = time.monotonic()
        report = fetch.crawl(START, folder, options)
        elapsed = time.monotonic() - started
        server.released.set()
        hits = dict(server.hits)
    record = json.loads((folder / "site" / fetch.RECORD).read_text())
    urls = {entry["url"]: path for path, entry in record["files"].items()}
    return {"report": report, "hits": hits, "seen": seen, "record": record, "urls": urls,
            "site": folder / "site", "elapsed": elapsed, "lines": "\n".join(report.lines(examples=50))}


def hits(crawled, path):
    return sum(n for (_, p), n in crawled["hits"].items() if p == path)


def test_robots_txt_disallowed_page_is_never_requested(crawled):
    assert hits(crawled, "/private/page") == 0
    assert crawled["report"].reason(f"{START}private/page") == "disallowed by robots.txt"
    assert "disallowed by robots.txt: 1 URL(s): https://site.test/private/page" in crawled["lines"]


def test_redirect_out_of_scope_is_not_followed(crawled):
    assert hits(crawled, "/redirect-out") == 1
    reason = crawled["report"].reason(f"{START}redirect-out")
    assert reason == "redirect out of scope (other host) to https://elsewhere.test/x"
    assert "https://elsewhere.test/x" not in crawled["urls"]


def test_redirect_in_scope_is_followed_and_recorded(crawled):
    assert crawled["record"]["redirects"] == {f"{START}redirect-in": f"{START}target"}
    assert crawled["urls"][f"{START}target"] == f"{HOST}/target"


def test_5xx_is_retried_until_success(crawled):
    assert hits(crawled, "/flaky") == 3
    assert (crawled["site"] / HOST / "flaky").read_bytes() == html("<p>third time lucky</p>")
    assert crawled["report"].reason(f"{START}flaky") == "fetched at attempt 3 (first: HTTP 503)"
    assert f"warning: fetched at attempt 3 (first: HTTP 503): 1 URL(s): {START}flaky" in crawled["lines"]


def test_retry_after_is_waited_for(crawled):
    first, second = crawled["seen"]["busy"]
    assert second - first >= 1.0
    assert (crawled["site"] / HOST / "busy").exists()
    assert crawled["report"].reason(f"{START}busy") == "fetched at attempt 2 (first: HTTP 429, Retry-After 1)"


def test_crawl_trap_is_cut_at_the_pattern_cap(crawled):
    assert hits(crawled, "/calendar") == 5
    trapped = [o for o in crawled["report"].of("skipped") if "crawl trap" in o.reason]
    assert trapped and all("/calendar?month=" in o.url for o in trapped)
    assert "crawl trap (over 5 URLs like site.test/calendar?month=)" in crawled["lines"]


def test_session_ids_and_tracking_parameters_make_one_url(crawled):
    assert hits(crawled, "/page") == 1
    assert crawled["urls"][f"{START}page"] == f"{HOST}/page"


def test_huge_responses_are_cut_and_not_stored(crawled):
    report = crawled["report"]
    assert report.reason(f"{START}huge-declared").startswith("too large (10,000,000,000 bytes")
    assert report.reason(f"{START}huge-streamed").startswith("too large (over 1,048,576 bytes")
    assert not (crawled["site"] / HOST / "huge-declared").exists()
    assert not (crawled["site"] / HOST / "huge-streamed").exists()


def test_wrong_charset_is_corrected_and_reported(crawled):
    assert (crawled["site"] / HOST / "latin").read_bytes() == CP1252_PAGE
    assert crawled["record"]["files"][f"{HOST}/latin"]["charset"] == "cp1252"
    assert ("warning: wrong charset: the header said utf-8, the content is cp1252: 1 URL(s): "
            f"{START}latin") in crawled["lines"]


def test_the_charset_a_page_was_served_with_reaches_the_mirror(crawled, tmp_path):
    """A page labelled only by its Content-Type header (no <meta charset>) is read in that charset."""
    assert crawled["record"]["files"][f"{HOST}/koi8"]["charset"] == "koi8-r"
    fetch.build_mirror(crawled["site"], START, tmp_path / "out")
    mirrored = (tmp_path / "out" / "koi8.html").read_text("utf-8")
    assert "Большой брат следит за вашими кликами." in mirrored and "<title>Зеркало</title>" in mirrored
    latin = (tmp_path / "out" / "latin.html").read_text("utf-8")
    assert "Les élèves déjà présents à l'école" in latin  # the lying header was corrected by the crawl


def test_page_that_never_finishes_times_out(crawled):
    reason = crawled["report"].reason(f"{START}stall")
    assert reason.startswith("timeout"), reason
    assert hits(crawled, "/stall") == 0  # never completed
    assert not (crawled["site"] / HOST / "stall").exists()
    assert crawled["elapsed"] < 15


def test_page_that_trickles_forever_is_cut_at_the_time_cap(crawled):
    assert crawled["report"].reason(f"{START}trickle") == "timeout (still sending after 1.5 s), 3 attempts"
    assert not (crawled["site"] / HOST / "trickle").exists()


def test_compressed_responses_are_stored_decoded(crawled):
    assert (crawled["site"] / HOST / "gz").read_bytes() == GZ_PAGE


def test_errors_are_reported_and_the_rest_is_stored(crawled):
    assert crawled["report"].reason(f"{START}gone") == "HTTP 404"
    assert "error: HTTP 404: 1 URL(s): https://site.test/gone" in crawled["lines"]
    assert crawled["report"].pages >= 6


def test_no_cookie_is_kept_and_the_user_agent_is_tor_browsers():
    seen = []
    with Server() as server:
        def page(h):
            seen.append(dict(h.headers))
            h.send(200, html('<a href="/two">two</a>'), headers={"Set-Cookie": "id=42; Path=/"})
        server.route("/", page)
        server.route("/two", page)
        server.route("/robots.txt", lambda h: h.send(404, b""))
        import tempfile
        with tempfile.TemporaryDirectory() as folder:
            fetch.crawl(START, folder, fetch.Options(connect_to={HOST: server.address}))
    assert len(seen) == 2
    assert all("Cookie" not in headers and "Referer" not in headers for headers in seen)
    assert seen[0]["User-Agent"] == "Mozilla/5.0 (Windows NT 10.0; rv:140.0) Gecko/20100101 Firefox/140.0"
    assert threading.active_count() < 50


def test_a_start_url_that_moved_takes_the_crawl_along(tmp_path):
    """http://old.test/ -> https://www.site.test/: the site is crawled where it went, in its scheme."""
    seen = []
    with Server() as server:
        def page(h):
            seen.append((h.host, h.path))
            if h.host == "old.test":
                return h.send(301, b"", headers={"Location": "https://www.site.test/"})
            h.send(200, html('<a href="/a">a</a><a href="http://www.site.test/b">b</a>'))
        for path in ("/", "/a", "/b"):
            server.route(path, page)
        server.route("/robots.txt", lambda h: h.send(404, b""))
        hosts = {"old.test": server.address, "www.site.test": server.address}
        report = fetch.crawl("http://old.test/", tmp_path, fetch.Options(connect_to=hosts))
    assert sorted(seen) == [("old.test", "/"), ("www.site.test", "/"), ("www.site.test", "/a"),
                            ("www.site.test", "/b")]
    assert report.pages == 3
    record = json.loads((tmp_path / "site" / fetch.RECORD).read_text())
    assert record["redirects"] == {"http://old.test/": "https://www.site.test/"}
    assert sorted(record["files"]) == ["www.site.test/a", "www.site.test/b", "www.site.test/index.html"]


def test_include_and_max_depth_limit_pages_but_not_the_start(tmp_path):
    with Server() as server:
        links = '<a href="/blog/1">1</a><a href="/about">about</a>'
        server.route("/", lambda h: h.send(200, html(links)))
        server.route("/blog/1", lambda h: h.send(200, html('<a href="/blog/2">2</a>')))
        server.route("/blog/2", lambda h: h.send(200, html("<p>deep</p>")))
        server.route("/robots.txt", lambda h: h.send(404, b""))
        options = fetch.Options(include=(r"/blog/",), max_depth=1, connect_to={HOST: server.address})
        report = fetch.crawl(START, tmp_path, options)
    assert report.pages == 2
    assert report.reason(f"{START}about") == "out of scope (not --include)"
    assert report.reason(f"{START}blog/2") == "beyond --max-depth"


@pytest.mark.parametrize("cap, reason", [({"max_pages": 3}, "--max-pages reached"),
                                         ({"max_bytes": 20_000}, "--max-bytes reached")])
def test_page_and_byte_caps_stop_the_crawl_with_a_reason(tmp_path, cap, reason):
    from tests.fetch_site import make_site

    make_site(tmp_path / "www", pages=9, assets_per_page=2)
    with Server({"": tmp_path / "www"}, default="") as server:
        report = fetch.crawl(f"http://{server.address}/", tmp_path / "crawl", fetch.Options(**cap))
    assert report.of("skipped") and any(o.reason == reason for o in report.of("skipped"))
    if "max_pages" in cap:
        assert report.pages == 3
    else:
        assert report.bytes < 20_000 + 4 * 2 * 20_000  # the cap plus what was in flight
