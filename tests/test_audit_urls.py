"""mirror.audit_urls: URLs read as a browser reads them."""

from __future__ import annotations

import pytest

from mirror.audit_urls import classify, data_is_inert, refresh_url, srcset_urls


@pytest.mark.parametrize("value, kind", [
    ("javascript:alert(1)", "script"), (" \x01JaVaScRiPt:x", "script"), ("java\tscr\nipt:x", "script"),
    ("vbscript:x", "script"), ("data:text/html,<b>", "data"), ("about:blank", "inert"),
    ("https://x.example/", "remote"), ("//x.example/", "remote"), ("\\\\x.example/", "remote"),
    ("/\\x.example/", "remote"), ("http:x.example", "remote"), ("cid:part", "remote"), ("file:///etc", "remote"),
    ("a.png", "local"), ("#f", "local"), ("../../x", "outside"), ("%2e%2e/%2e%2e/x", "outside"),
])
def test_classify_kinds(value, kind):
    assert classify(value, "sub").kind == kind


@pytest.mark.parametrize("value, path, fragment", [
    ("a.png", "sub/a.png", ""), ("/a.png", "a.png", ""), ("../a.png?x=1#top", "a.png", "top"),
    ("./", "sub/", ""), (".", "sub/", ""), ("/", "/", ""), ("b/../c%20d.html#s%C3%A9", "sub/c d.html", "sé"),
    ("#here", "", "here"), ("?q", "", ""),
])
def test_local_paths_resolve_inside_the_root(value, path, fragment):
    url = classify(value, "sub")
    assert (url.path, url.fragment) == (path, fragment)


def test_data_urls_are_decoded_and_judged_by_type():
    url = classify("data:text/css;base64,YXtiOnVybCh4KX0=", "")
    assert (url.data_type, url.data_body) == ("text/css", "a{b:url(x)}")
    assert classify("data:,hello%20world", "").data_type == "text/plain"
    assert data_is_inert("image/png", image_context=False)
    assert data_is_inert("image/svg+xml", image_context=True)
    assert not data_is_inert("image/svg+xml", image_context=False)
    assert not data_is_inert("text/html", image_context=True)
    assert not data_is_inert("application/xhtml+xml", image_context=False)


def test_srcset_candidates_keep_commas_inside_urls():
    assert srcset_urls("a.png 1x, b,c.png 2x,d.png, e.png (a,b) 3x,,") == ["a.png", "b,c.png", "d.png", "e.png"]


@pytest.mark.parametrize("content, target", [
    ("1; URL=http://x/", "http://x/"), ("0;url='a b'", "a b"), ("5", None), ("0, next.html", "next.html"),
    ("  3 ;  url = \"q\" ", "q"), ("0.5;x", "x"),
])
def test_meta_refresh_targets(content, target):
    assert refresh_url(content) == target
