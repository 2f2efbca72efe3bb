"""mirror/links.py: URL decisions."""

from __future__ import annotations

import random
from urllib.parse import urljoin

import pytest

from mirror.links import NoSite, locate, normalize, relative, split_srcset, strip_tracking, unwrap


@pytest.mark.parametrize(
    "raw",
    [
        "javascript:alert(1)",
        " java\tscript:alert(1)",
        "JaVaScRiPt:x",
        "data:text/html,x",
        "vbscript:x",
        "http:/evil.example/x",
        "file:///etc/passwd",
    ],
)
def test_unsafe_schemes_are_refused(raw):
    assert locate(raw, "https://s.example/", "index.html", NoSite()).kind == "unsafe"


def test_redirect_wrappers_are_unwrapped_and_tracking_parameters_stripped():
    assert unwrap("https://l.facebook.com/l.php?u=https%3A%2F%2Fa.example%2Fx&h=AT0") == "https://a.example/x"
    assert (
        strip_tracking("https://a.example/x?id=1&utm_source=tw&fbclid=Z&gclid=Y")
        == "https://a.example/x?id=1"
    )
    target = locate(
        "https://www.youtube.com/redirect?q=https://b.example/&event=x", "https://s/", "i.html", NoSite()
    )
    assert (target.kind, target.url, target.host) == ("external", "https://b.example/", "b.example")


def test_srcset_candidates_split_like_the_html_standard():
    assert split_srcset("a.png 1x, https://c.example/w_1,h_2/b.jpg 2x,c.png") == [
        ("a.png", "1x"),
        ("https://c.example/w_1,h_2/b.jpg", "2x"),
        ("c.png", ""),
    ]


def test_relative_paths_are_encoded_and_never_read_as_a_scheme():
    assert relative("a/b/page.html", "a/c d/x.png") == "../c%20d/x.png"
    assert relative("page.html", "mailto:x.html") == "./mailto:x.html"


def test_absolute_paths_resolve_as_urljoin_resolves_them():
    """locate joins "/path" itself (urljoin is the slow part); any other reference goes through urljoin."""
    rnd = random.Random(7)
    parts = ["/", "//", "a", ".", "..", "?", "#", ";", ":", "\\", "%2e", " ", "é", "x.png", "@"]
    values = ["/" + "".join(rnd.choice(parts) for _ in range(rnd.randint(0, 8))) for _ in range(3000)]
    bases = ["https://s.example/d/p.html", "http://U@S.Example:8080/a/", "https://s.example", "ftp://h/x"]
    for base in bases:
        for value in values:
            target = locate(value, base, "index.html", NoSite())
            if target.kind == "external":
                assert target.url == strip_tracking(urljoin(base, normalize(value).replace("\\", "/"))), (base, value)
