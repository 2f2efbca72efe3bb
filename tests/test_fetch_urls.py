"""The pure parts of the crawl: canonical URLs, scope, trap shapes, file names, charsets, links."""

from __future__ import annotations

import re

import pytest

from mirror import fetch, fetch_options, fetch_parse, fetch_urls
from mirror.fetch_http import HostGate, robots_rules


@pytest.mark.parametrize("raw, canonical", [
    ("HTTP://Example.COM:80/a/./b/../c?b=2&a=1#frag", "http://example.com/a/c?a=1&b=2"),
    ("https://example.com", "https://example.com/"),
    ("https://example.com:8443/%7euser/", "https://example.com:8443/~user/"),
    ("https://example.com/a%2fb", "https://example.com/a%2Fb"),
    ("https://example.com/p;jsessionid=0A1B?PHPSESSID=x&sid=y&id=3", "https://example.com/p?id=3"),
    ("https://example.com/?utm_source=a&utm_medium=b&fbclid=c&gclid=d", "https://example.com/"),
    ("https://example.com/a b", "https://example.com/a%20b"),
])
def test_canonical_form(raw, canonical):
    assert fetch_urls.canonical(raw) == canonical


@pytest.mark.parametrize("raw", ["ftp://example.com/", "mailto:a@b.c", "https://", "http://[::1/"])
def test_unfetchable_urls_are_refused(raw):
    with pytest.raises(fetch_urls.BadURL):
        fetch_urls.canonical(raw)


def test_calendar_urls_share_one_pattern():
    shapes = {fetch_urls.pattern(fetch_urls.canonical(f"https://e.org/cal/{y}/{m}?day={d}&view=w"))
              for y in (2024, 2025) for m in range(1, 13) for d in (1, 15)}
    assert shapes == {"e.org/cal/N/N?day=&view="}


@pytest.mark.parametrize("url, reason", [
    ("https://e.org/" + "a/b/" * 4, "crawl trap (repeated path segment)"),
    ("https://e.org/" + "/".join(str(i) for i in range(30)), "crawl trap (path too deep)"),
    ("https://e.org/?q=" + "x" * 3000, "crawl trap (URL too long)"),
    ("https://e.org/a/b/c", None),
])
def test_trap_shapes(url, reason):
    assert fetch_urls.trap_reason(url) == reason


def test_scope_keeps_pages_on_the_host_and_assets_from_named_hosts():
    scope = fetch.scope_for("https://e.org/", fetch.Options(assets_from=("cdn.e.org",), exclude=(r"/logout",)))
    assert scope.refusal("https://e.org/a", "page") is None
    assert scope.refusal("https://cdn.e.org/x.css", "asset") is None
    assert scope.refusal("https://cdn.e.org/page", "page") == "out of scope (other host)"
    assert scope.refusal("https://e.org/logout", "page") == "out of scope (--exclude)"
    assert scope.upgrade("http://e.org/a") == "https://e.org/a"
    assert scope.upgrade("http://other.org/a") == "http://other.org/a"


def test_bad_regex_is_a_sentence():
    with pytest.raises(fetch.FetchError, match=re.escape("'(' is not a valid regex")):
        fetch.scope_for("https://e.org/", fetch.Options(include=("(",)))


@pytest.mark.parametrize("url, path", [
    ("https://e.org/", "e.org/index.html"),
    ("https://e.org/faq", "e.org/faq"),
    ("https://e.org/news/", "e.org/news/index.html"),
    ("http://e.org:8080/a%20b.html", "e.org:8080/a b.html"),
    ("https://e.org/list?page=2", "e.org/list?page=2"),
    ("https://e.org/%2e%2e/x", "e.org/x"),
])
def test_local_paths(url, path):
    assert fetch_urls.local_path(fetch_urls.canonical(url)) == path


def test_a_file_that_is_also_a_folder_becomes_its_index():
    placed = fetch.place({"https://e.org/a": "e.org/a", "https://e.org/a/b": "e.org/a/b"})
    assert placed == {"https://e.org/a": "e.org/a/index.html", "https://e.org/a/b": "e.org/a/b"}


@pytest.mark.parametrize("body, declared, charset, noted", [
    ("héllo wörld".encode(), "iso-8859-1", "utf-8", True),
    ("<p>Les élèves déjà présents à l'école</p>".encode("cp1252"), "utf-8", "cp1252", True),
    ("Привет, как дела? Это тест на русском языке.".encode("cp1251"), None, "cp1251", False),
    (b'<meta charset="windows-1252"><p>caf\xe9', None, "cp1252", False),
    (b"\xef\xbb\xbfplain", "iso-8859-1", "utf-8", True),
    (b"ascii only", "iso-8859-1", "cp1252", False),
])
def test_charset_from_header_meta_or_detection(body, declared, charset, noted):
    found, note = fetch_parse.decide_charset(body, declared)
    assert found == charset
    assert bool(note) == noted


def test_links_of_a_page_skip_scripts_and_find_css_urls():
    page = ('<base href="/x/"><a href="p1">p</a><img srcset="a.png 1x, b.png 2x" src="c.png">'
            '<link rel="stylesheet" href="s.css"><link rel="preload" as="script" href="j2.js">'
            '<script src="j.js"></script><div style="background:url(e.png)"></div>'
            '<style>@import "i.css"; @font-face { src: url(f.woff2) }</style>'
            '<meta http-equiv="refresh" content="0; url=/r"><a href="mailto:a@b">m</a>')
    links = fetch_parse.html_links(page, "https://e.org/")
    assert links.pages == {"https://e.org/x/p1", "https://e.org/r"}
    assert links.assets == {f"https://e.org/x/{n}" for n in ("a.png", "b.png", "c.png", "s.css", "e.png",
                                                             "i.css", "f.woff2")}


def test_robots_rules_follow_rfc_9309():
    assert robots_rules("https://e.org", 404, "").can_fetch("x", "https://e.org/a")
    assert not robots_rules("https://e.org", 503, "").can_fetch("x", "https://e.org/a")
    rules = robots_rules("https://e.org", 200, "User-agent: *\nDisallow: /private/\n")
    assert not rules.can_fetch("Mozilla/5.0", "https://e.org/private/x")
    assert rules.can_fetch("Mozilla/5.0", "https://e.org/public")


def test_host_gate_never_lets_more_than_four_in():
    gate = HostGate(connections=16, interval=0.0)
    assert gate.connections == 4


@pytest.mark.parametrize("text, size", [("50M", 50 * 2**20), ("1024", 1024), ("2k", 2048), ("1GiB", 2**30)])
def test_sizes(text, size):
    assert fetch_options.parse_size(text) == size


def test_a_body_without_content_type_is_sniffed():
    assert fetch_parse.sniff(b"\xef\xbb\xbf  <!DOCTYPE html><p>x") == "text/html"
    assert fetch_parse.sniff(b"\x89PNG\r\n") == ""
