"""mirror.audit_css: what CSS loads or runs, and proof that cutting a sheet into pieces changes nothing."""

from __future__ import annotations

import random

import pytest
from selectolax.lexbor import LexborHTMLParser

from mirror.audit_css import scan_stylesheet, scan_whole, split_pieces
from tests.audit_corpora import readability_dir, xss_vectors


def found(css: str) -> list[tuple[str, str]]:
    return [(item.kind, item.value) for item in scan_stylesheet(css)]


@pytest.mark.parametrize("css, expected", [
    ("a{background:url(x.png)}", [("url", "x.png")]),
    ("a{background:URL( 'q.png' )}", [("url", "q.png")]),
    ("@import 'http://t/';", [("import", "http://t/")]),
    ("@import url(y.css) screen;", [("url", "y.css")]),
    ("@media print{@import 'late.css';}", [("import", "late.css")]),
    ('a{background:image-set("a.png" 1x, url(b.png) 2x)}', [("url", "a.png"), ("url", "b.png")]),
    ('a{background:-webkit-image-set("a.png" 1x)}', [("url", "a.png")]),
    ('a{background:cross-fade(url(a.png), "b.png")}', [("url", "b.png"), ("url", "a.png")]),
    ('a{background:image("i.png")}', [("url", "i.png")]),
    ('a{background:src("s.png")}', [("url", "s.png")]),
    ("@font-face{font-family:f;src:url(f.woff2)}", [("font-face", "@font-face"), ("url", "f.woff2")]),
    ("a{b:u\\72l(http://escaped/)}", [("url", "http://escaped/")]),
    ("a{b:\\75\\72\\6c(http://escaped/)}", [("url", "http://escaped/")]),
    ("div{width:expression(alert(1))}", [("script", "expression()")]),
    ("p{behavior:url(a.htc)}", [("script", "behavior"), ("url", "a.htc")]),
    ("p{-moz-binding:url(a.xml#b)}", [("script", "-moz-binding"), ("url", "a.xml#b")]),
    ("@namespace svg url(http://www.w3.org/2000/svg); a{color:red}", []),
    ("/* url(x) @import 'y'; */ a{}", []),
    ("a{content:\"url(x)\"} b{content:'@import'}", []),
    ("a{background:red}", []),
])
def test_scan_finds_every_load_and_script(css, expected):
    assert found(css) == expected


def test_lines_are_counted_across_pieces():
    css = "a{color:red}\n\nb{background:url(b.png)}\r\nc{x:y}\fd{background:url(d.png)}"
    assert [(item.value, item.line) for item in scan_stylesheet(css)] == [("b.png", 3), ("d.png", 5)]


@pytest.mark.parametrize("css", [
    'a{b:url( "x)}" )} c{d:url(e.png)}',  # a quoted url( is a function: its string holds the brace
    "a{b:url(x}y)} c{d:url(e.png)}",  # an unquoted url token swallows the brace
    "a{content:\"}\"} c{d:url(e.png)}", "a{content:'}\n} c{d:url(e.png)}",  # strings and bad strings
    'a{b:"\\a\n}" c{d:url(https://t/e)}',  # a hex escape takes the newline after it: the string goes on
    "/*}*/ c{d:url(e.png)}", "a{b:c(}{)} d{e:url(f.png)}", "<![CDATA[ a{b:c} d{e:url(f.png)} ]]>",
    "a{b:\\}} c{d:url(e.png)}", "a{b:\\75 rl(}x)} c{d:url(e.png)}",
])
def test_cutting_a_sheet_gives_what_tokenizing_it_whole_gives(css):
    assert scan_stylesheet(css) == scan_whole(css)


FUZZ_ALPHABET = ["url(", "URL( ", '"', "'", "/*", "*/", "{", "}", "(", ")", "[", "]", "\n", "\r", "\\", "\\7", "x",
                 "a", "@import ", "@font-face", "image-set(", "u", "rl(", " ", ";", ":", "http://t/", "#", "@", "-",
                 "1", "src(", "\f", "expression(", "\\75 rl(", "behavior", "é", "\\a\n", "\\A\r\n", "\\00007 "]


def _same_as_whole(css: str) -> bool:
    whole = css.replace("\r\n", "\n").replace("\r", "\n").replace("\f", "\n").replace("\0", "\ufffd")
    return scan_stylesheet(css) == scan_whole(whole)


def test_fuzzed_sheets_scan_the_same_cut_or_whole():
    rnd = random.Random(20261126)
    sheets = ["".join(rnd.choice(FUZZ_ALPHABET) for _ in range(rnd.randint(1, 30))) for _ in range(20000)]
    differ = [css for css in sheets if not _same_as_whole(css)]
    assert differ == []


@pytest.mark.corpus
def test_corpus_sheets_scan_the_same_cut_or_whole():
    sheets = []
    for path in sorted(readability_dir().iterdir()):
        tree = LexborHTMLParser(path.read_bytes())
        sheets += [node.text(deep=True) for node in tree.css("style")]
        sheets += [node.attributes["style"] or "" for node in tree.css("[style]")]
    for vector in xss_vectors():
        sheets += [text for name, text in vector.files.items() if name.endswith(".css")]
    assert len(sheets) > 5000
    assert sum(1 for css in sheets if split_pieces(css) and len(split_pieces(css)) > 1) > 100
    assert [css[:80] for css in sheets if not _same_as_whole(css)] == []
