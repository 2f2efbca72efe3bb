"""The crawl of a real multi-host site (the whatwg corpus) and of a generated one, and the CLI.

The whatwg corpus keeps one folder per host (whatwg.org, resources.whatwg.org, images.whatwg.org); the
test server maps the three host names to its one loopback address by Host header, and the crawler's
``connect_to`` sends the three names there, so the crawl sees the real absolute links of the site.
"""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urljoin, urlsplit

import pytest
from click.testing import CliRunner

from mirror import fetch, fetch_urls
from mirror.cli import main
from tests.conftest import need_shared
from tests.fetch_server import Server
from tests.fetch_site import make_site

HOSTS = ("whatwg.org", "resources.whatwg.org", "images.whatwg.org")


class Hrefs(HTMLParser):
    """An independent reader of a page's links (stdlib html.parser, not the crawler's lexbor)."""

    def __init__(self):
        super().__init__()
        self.links: list[str] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag in ("a", "area") and attrs.get("href"):
            self.links.append(attrs["href"])


def corpus() -> Path:
    return need_shared("corpora/realsite/whatwg")


@pytest.fixture(scope="module", params=["https://whatwg.org/", "https://whatwg.org/news/"])
def whatwg(request, tmp_path_factory):
    root = corpus()
    folder = tmp_path_factory.mktemp("whatwg")
    with Server({host: root / host for host in HOSTS}) as server:
        options = fetch.Options(assets_from=HOSTS[1:], connect_to={host: server.address for host in HOSTS})
        report = fetch.crawl(request.param, folder, options)
        stats = server.stats()
        hits = dict(server.hits)
    record = json.loads((folder / "site" / fetch.RECORD).read_text())
    return {"root": root, "site": folder / "site", "report": report, "record": record, "stats": stats,
            "hits": hits}


def test_every_file_is_the_servers_byte_for_byte_under_its_host_and_path(whatwg):
    files = whatwg["record"]["files"]
    assert len(files) >= 10
    for path, entry in files.items():
        served = whatwg["root"] / path
        assert (whatwg["site"] / path).read_bytes() == served.read_bytes(), path
        assert path == fetch_urls.local_path(entry["url"])
    assert "whatwg.org/index.html" in files
    assert "resources.whatwg.org/logo.svg" in files  # an asset from --assets-from


def test_every_reachable_page_is_fetched_or_accounted_for(whatwg):
    """Closure: every in-scope link of every fetched page is a file, a redirect, or a report line."""
    files = {entry["url"] for entry in whatwg["record"]["files"].values()}
    redirects = whatwg["record"]["redirects"]
    report = whatwg["report"]
    for path, entry in whatwg["record"]["files"].items():
        if not entry["type"].startswith("text/html"):
            continue
        parser = Hrefs()
        parser.feed((whatwg["site"] / path).read_text(encoding=entry["charset"]))
        for href in parser.links:
            url = urljoin(entry["url"], href)
            if urlsplit(url).scheme not in ("http", "https") or urlsplit(url).hostname != "whatwg.org":
                continue
            canonical = fetch_urls.canonical(url.replace("http://", "https://", 1))
            assert canonical in files or canonical in redirects or report.reason(canonical), (path, href)


def test_robots_txt_and_404s_are_in_the_report(whatwg):
    report = whatwg["report"]
    assert report.reason("https://whatwg.org/policies") == "HTTP 404"
    if whatwg["report"].start.endswith("/news/"):
        assert report.reason("https://whatwg.org/specs/web-apps/current-work/") == "disallowed by robots.txt"
    assert whatwg["hits"].get(("whatwg.org", "/specs/web-apps/current-work/"), 0) == 0


def test_no_url_twice_and_at_most_four_connections(whatwg):
    assert max(whatwg["hits"].values()) == 1
    assert whatwg["stats"]["most_open"] <= 4
    assert whatwg["report"].requests == whatwg["stats"]["requests"]


def test_cli_fetch_crawls_and_prints_the_report(tmp_path):
    make_site(tmp_path / "www", pages=9, assets_per_page=2)
    with Server({"": tmp_path / "www"}, default="") as server:
        result = CliRunner().invoke(main, ["fetch", f"http://{server.address}/", "--dir", str(tmp_path / "c"),
                                           "--no-build"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("9 page(s), 18 asset(s)")
    assert "skipped: disallowed by robots.txt: 1 URL(s)" in result.output
    assert (tmp_path / "c" / "site" / f"127.0.0.1:{server.server_address[1]}" / "index.html").exists()


def test_cli_fetch_single_document_builds_the_crawl_as_one_audited_page(tmp_path):
    from mirror import audit

    make_site(tmp_path / "www", pages=9, assets_per_page=2)
    out = tmp_path / "one"
    with Server({"": tmp_path / "www"}, default="") as server:
        result = CliRunner().invoke(main, ["fetch", f"http://{server.address}/s0/", "--dir", str(tmp_path / "c"),
                                           "-o", str(out), "--single-document"])
    assert result.exit_code == 0, result.output
    assert "One document: 9 pages" in result.output
    home = re.search(r'<section class="page home[^"]*" id="p-home"[^>]*>\s*<p class="m-pagehead">.*?· (\S+)</p>',
                     (out / "index.html").read_text("utf-8"))
    assert home.group(1) == "s0/index.html"  # it opens on the page the crawl started from
    assert [p.name for p in out.rglob("*.html") if ".mirror" not in p.parts] == ["index.html"]
    html = (out / "index.html").read_text("utf-8")
    assert len(re.findall(r'<section class="page[^"]*" id="p-', html)) == 9
    assert not audit.audit_dir(out).errors


def test_cli_fetch_refuses_bad_input_with_a_sentence(tmp_path):
    runner = CliRunner()
    bad_url = runner.invoke(main, ["fetch", "ftp://example.org/", "--dir", str(tmp_path)])
    assert bad_url.exit_code == 1
    assert "Error: 'ftp://example.org/' is not an http(s) URL" in bad_url.output
    local_dns = runner.invoke(main, ["fetch", "http://x.onion/", "--proxy", "socks5://127.0.0.1:9050"])
    assert local_dns.exit_code == 1 and "use socks5h://" in local_dns.output
    both = runner.invoke(main, ["fetch", "http://x.onion/", "--tor", "--proxy", "socks5h://127.0.0.1:9"])
    assert both.exit_code == 1 and "give one" in both.output
    public_tor = runner.invoke(main, ["fetch", "http://x.onion/", "--tor", "--dir", str(tmp_path)])
    assert public_tor.exit_code == 1 and "refusing to launch a tor on the public Tor network" in public_tor.output
    both_ways = runner.invoke(main, ["fetch", "http://x.test/", "--no-build", "--single-document"])
    assert both_ways.exit_code == 2 and "--no-build makes none" in both_ways.output
    bad_size = runner.invoke(main, ["fetch", "http://x.test/", "--dir", str(tmp_path), "--max-size", "lots"])
    assert bad_size.exit_code == 1 and "'lots' is not a size" in bad_size.output


def test_a_folder_keeps_one_crawl(tmp_path):
    make_site(tmp_path / "www", pages=3, assets_per_page=2)
    with Server({"": tmp_path / "www"}, default="") as server:
        fetch.crawl(f"http://{server.address}/", tmp_path / "c")
        with pytest.raises(fetch.FetchError, match="holds the crawl of"):
            fetch.crawl(f"http://{server.address}/s0/", tmp_path / "c")


class Loads(Hrefs):
    """Every link and load of a built page (href, src)."""

    def handle_starttag(self, tag, attrs):
        self.links += [value for name, value in attrs if name in ("href", "src") and value]


def test_fetched_site_builds_into_an_audited_mirror_whose_links_resolve(whatwg, tmp_path):
    from mirror import audit

    out = tmp_path / "build"
    fetch.build_mirror(whatwg["site"], whatwg["report"].start, out)
    audit.require_pass(out)
    pages = [p for p in out.rglob("*.html") if ".mirror" not in p.parts]
    assert len(pages) >= whatwg["report"].pages
    for page in pages:
        parser = Loads()
        parser.feed(page.read_text(encoding="utf-8"))
        for link in parser.links:
            if urlsplit(link).scheme or link.startswith(("#", "//")) or not urlsplit(link).path:
                continue
            target = (page.parent / unquote(urlsplit(link).path)).resolve()
            assert target.is_relative_to(out.resolve()), (page, link)
            assert target.is_file() or (target / "index.html").is_file(), (page, link)


def test_a_broken_state_file_is_a_sentence_not_a_traceback(tmp_path):
    (tmp_path / fetch.STATE).write_bytes(b"this is not a database" * 100)
    with pytest.raises(fetch.FetchError, match=r"state.sqlite cannot be used .* --restart"):
        fetch.crawl("http://127.0.0.1:9/", tmp_path)


def test_two_crawls_never_share_a_folder(tmp_path):
    import fcntl

    tmp_path.joinpath(".lock").touch()
    with open(tmp_path / ".lock", "a+b") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        with pytest.raises(fetch.FetchError, match="another `mirror fetch` is crawling into"):
            fetch.crawl("http://127.0.0.1:9/", tmp_path)


def test_a_site_that_does_not_answer_is_a_sentence(tmp_path):
    from mirror.fetch_http import Limits
    from mirror.testnet import free_ports

    url = f"http://127.0.0.1:{free_ports(1)[0]}/"
    quick = Limits(retries=0, connect_timeout=2)
    with pytest.raises(fetch.FetchError, match=r"nothing could be downloaded from .*: robots.txt unreachable "
                                               r"\(no answer\): keeping out, as RFC 9309 asks"):
        fetch.crawl(url, tmp_path / "a", fetch.Options(limits=quick))
    with pytest.raises(fetch.FetchError, match=r"nothing could be downloaded from .*: connection failed"):
        fetch.crawl(url, tmp_path / "b", fetch.Options(limits=quick, robots=False))
