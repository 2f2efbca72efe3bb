"""mirror/sanitize_css_pieces.py: pieces kept unparsed mean what one tinycss2 walk of the whole sheet means.

The fast paths (pieces without a risky word copied as written, a dead last rule dropped unparsed, cached
results) must give CSS that a browser applies exactly as the output of one tinycss2 walk over the whole
text (tests/css_equivalence.py says what "the same meaning" is), and that loads and runs nothing.
"""

from __future__ import annotations

import random
from collections import Counter

import pytest
from selectolax.lexbor import LexborHTMLParser

from mirror.audit_css import scan_stylesheet
from mirror.links import NoSite
from mirror.sanitize_css import CssSanitizer
from tests.audit_corpora import readability_dir, xss_vectors
from tests.css_equivalence import meaning

BASE, OUT = "https://site.invalid/css/", "css/a.css"


class _Site:
    def locate(self, url: str):
        return (
            (True, url.split("://site.invalid/", 1)[1] or "index.html")
            if "://site.invalid/" in url
            else (False, None)
        )


def fast(css: str, site=None) -> str:
    return CssSanitizer(site or NoSite()).stylesheet(css, BASE, OUT, Counter())


def full(css: str, site=None) -> str:
    """The reference: one tinycss2 walk over the whole text, no piece skipped."""
    return CssSanitizer(site or NoSite())._sheet(css, BASE, OUT, Counter())


def loads(css: str) -> list:
    return [
        (item.kind, item.value) for item in scan_stylesheet(css) if item.kind in ("url", "import", "script")
    ]


def differs(css: str, site=None) -> bool:
    """Whether the fast path means something else, or loads something the full walk leaves out (the
    audit's scanner errs on the safe side: it reads "@import" in a prelude as an import)."""
    quick, whole = fast(css, site), full(css, site)
    return meaning(quick) != meaning(whole) or any(item not in loads(whole) for item in loads(quick))


@pytest.mark.parametrize(
    "css",
    [
        "<![CDATA[ a{b:c} d{e:url(https://t.example/f.png)} ]]>",
        "a{b:c} <![CDATA[ d{e:url(x.png)} ]]> g{h:url(y.png)}",
        "a{b:url(x.png)} /* c */ <!-- d{e:url(y.png)} -->",
        "a{b:url(x.png)} @import url(y.css); [e{f:url(z.png)}",
        "a{b:url(x.png)} c{d:e",
        "a{b:url(x.png)} \\63 {d:url(y.png)}",
        "a{font-family:X} b{font-family:Y;background:url(z.png)}",
    ],
)
def test_fast_path_means_what_the_whole_walk_means(css):
    assert not differs(css) and not differs(css, _Site())


def test_a_sheet_wrapped_in_cdata_is_dead_css_and_dropped_unparsed():
    removed = Counter()
    css = "<![CDATA[ a{color:red} b{background:url(https://t.example/x.png)} ]]>"
    assert CssSanitizer(NoSite()).stylesheet(css, BASE, OUT, removed) == ""
    assert removed == Counter({"invalid css": 1})


FUZZ_ALPHABET = [
    "url(", "URL( ", '"', "'", "/*", "*/", "{", "}", "(", ")", "[", "]", "\n", "\\", "\\7", "x", "a", "@import ",
    "@font-face", "@media s", "image-set(", "u", "rl(", " ", ";", ":", "http://t/", "#", "@", "-", "1", "<![CDATA[",
    "]]>", "<!--", "-->", "</", "font-family:", "body{display:none}", "x.png", "expression(", "é", "\f", "\r",
    "\xa0", "é(", "a_b(", "--1(", "paint(", "-moz-element(", "@charset", "@property", "@-moz-document", "html",
    "\u212a(", "\u0130",
]  # fmt: skip


def test_fuzzed_sheets_mean_the_same_fast_or_whole():
    rnd = random.Random(20261126)
    sheets = ["".join(rnd.choice(FUZZ_ALPHABET) for _ in range(rnd.randint(1, 30))) for _ in range(8000)]
    assert [css for css in sheets if differs(css)] == []
    assert [css for css in sheets[:2000] if differs(css, _Site())] == []


@pytest.mark.corpus
def test_corpus_sheets_mean_the_same_fast_or_whole():
    sheets = []
    for path in sorted(readability_dir().iterdir()):
        tree = LexborHTMLParser(path.read_bytes())
        sheets += [node.text(deep=True) for node in tree.css("style")]
    for vector in xss_vectors():
        sheets += [text for name, text in vector.files.items() if name.endswith(".css")]
    sheets = sorted(set(sheets))
    assert len(sheets) > 300
    assert [css[:80] for css in sheets if differs(css)] == []
    assert [css[:80] for css in sheets if differs(css, _Site())] == []
