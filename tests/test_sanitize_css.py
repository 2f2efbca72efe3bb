"""mirror/sanitize_css.py: CSS loads only local files, whatever spelling the remote load takes."""

from __future__ import annotations

from collections import Counter

import pytest

from mirror.links import NoSite
from mirror.sanitize_css import CssSanitizer
from mirror.sanitize_css_pieces import top_level_chunks
from tests.sanitize_oracle import css_findings


class _Site:
    def locate(self, url: str):
        return (True, url.split("://site.invalid/", 1)[1]) if "://site.invalid/" in url else (False, None)


def sheet(css: str, site=None) -> tuple[str, Counter]:
    removed = Counter()
    return CssSanitizer(site or NoSite()).stylesheet(
        css, "https://site.invalid/css/", "css/a.css", removed
    ), removed


@pytest.mark.parametrize(
    "css",
    [
        "a{background:url(https://t.example/p.gif)}",
        "a{background:URL('//t.example/p.gif')}",
        "a{background:u\\72l(https://t.example/p.gif)}",
        "@import 'https://t.example/x.css';",
        "@import url(https://t.example/x.css) screen;",
        "a{background-image:image-set('https://t.example/a.png' 1x)}",
        "a{list-style:url(https://t.example/b.png) inside}",
        "a{cursor:url(https://t.example/c.cur),auto}",
        "@font-face{font-family:F;src:url(https://f.example/f.woff2) format('woff2')}",
        "@media print{@media screen{a{background:url(https://t.example/n.png)}}}",
        "a{content:'x'}b{background:url(https://t.example/p.gif)}c{color:red}",
        "@namespace url(https://t.example/ns); a{color:red}",
        "@supports (background:url(https://t.example/s.png)) {a{color:red}}",
    ],
)
def test_remote_loads_in_any_spelling_are_dropped(css):
    out, removed = sheet(css)
    assert css_findings(out) == [] and "t.example" not in out and "f.example" not in out
    assert sum(removed.values()) >= 1


def test_local_urls_are_rewritten_relative_to_the_output_file():
    out, _ = sheet(
        "a{background:url(../img/x.png)} @import '/css/b.css'; b{background:url(/img/y.png)}", site=_Site()
    )
    assert "url(../img/x.png)" in out and "url(b.css)" in out and "url(../img/y.png)" in out


def test_script_running_css_is_removed():
    out, removed = sheet(
        "a{width:expression(alert(1));behavior:url(x.htc);-moz-binding:url(x.xml#y);color:red}"
    )
    assert out == "a{color:red;}"
    assert removed["css expression"] == 1 and removed["css behavior"] == 2


def test_style_cannot_close_its_own_element():
    out, _ = sheet("a::after{content:'</style><script>alert(1)</script>'}")
    assert "</style" not in out


def test_font_stacks_in_walked_rules_fall_back_to_a_system_font_but_font_face_keeps_one_family():
    out, removed = sheet(
        "@font-face{font-family:W;src:url(https://f.example/w.woff)} "
        "p{font-family:W;background:url(x.png)} code{font-family:X, monospace;src:url(y)}"
    )
    assert "@font-face" not in out and removed["remote font"] >= 1
    assert "font-family:W, sans-serif;" in out and "font-family:X, monospace;" in out


def test_rules_without_any_risky_word_are_kept_as_written():
    css = 'p { color : red }  /* kept */ h1{margin:0 auto} i::before{content:"\\f101"} a<b{x:1}'
    assert sheet(css)[0] == css.strip()


def test_top_level_chunks_skip_braces_in_strings_comments_and_escapes():
    css = 'a{x:"}"} /* } */ b{y:\\}} @media s{c{z:1}} d{'
    assert list(top_level_chunks(css)) == ['a{x:"}"}', " /* } */ b{y:\\}}", " @media s{c{z:1}}", " d{"]
    assert "".join(top_level_chunks(css)) == css


def test_absurdly_nested_css_is_dropped_not_a_traceback():
    out, removed = sheet("a{" * 5000 + "background:url(https://t.example/x)" + "}" * 5000)
    assert out == "" and removed["css nested too deeply (dropped)"] == 1
