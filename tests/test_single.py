"""Joining pages into one document: ids, links, CSS scoping, assets, policy and the size report."""

from __future__ import annotations

import gzip
import re

import pytest
import tinycss2
from selectolax.lexbor import LexborHTMLParser

from mirror import single
from mirror.single_links import slugs_for
from tests import single_site


@pytest.fixture(scope="module")
def joined():
    return single.join_pages(single_site.pages(), single_site.assets())


@pytest.fixture(scope="module")
def tree(joined):
    return LexborHTMLParser(joined.files["index.html"].decode())


def test_every_page_becomes_one_section_with_the_home_page_first(tree):
    sections = tree.css("body > section.page")
    ids = [s.attributes["id"] for s in sections]
    assert len(ids) == len(single_site.PAGES) + 1 and ids[-1] == "m-contents"
    assert ids[0] == "p-home" and "home" in sections[0].attributes["class"].split()
    assert {"p-docs-guide", "p-docs-api-ref", "p-blog-post-one", "p-news-2024-01"} <= set(ids)


def test_ids_are_unique_and_prefixed_per_page(tree):
    ids = [n.attributes["id"] for n in tree.css("body [id]")]
    assert len(ids) == len(set(ids))
    assert "p-faq--main" in ids and "p-about--main" in ids
    assert all(i.startswith(("p-", "m-")) for i in ids)


def test_every_link_is_a_fragment_that_resolves_in_the_same_document(tree):
    anchors = {n.attributes["id"] for n in tree.css("[id]")}
    anchors |= {n.attributes["name"] for n in tree.css("a[name]")}
    hrefs = [n.attributes["href"] for n in tree.css("body a[href]")]
    assert len(hrefs) > 50
    assert [h for h in hrefs if not h.startswith("#") or h[1:] not in anchors] == []


@pytest.mark.parametrize("page, link_id, expected", [
    ("home", "to-usage", "#p-docs-guide--usage"),       # deep link into a nested page
    ("home", "to-docs", "#p-docs"),                     # a folder link reaches its index.html
    ("home", "to-q3", "#p-faq--q3"),                    # a legacy <a name> anchor
    ("docs-api-ref", "to-guide-usage", "#p-docs-guide--usage"),  # ../ from a nested folder
    ("docs-api-ref", "to-home-2", "#p-home"),
    ("faq", "to-q2", "#p-faq--q2"),                     # in-page fragment gets the page's prefix
])
def test_links_point_at_the_prefixed_target(tree, page, link_id, expected):
    assert tree.css_first(f"[id='p-{page}--{link_id}']").attributes["href"] == expected


def test_missing_fragments_lead_to_the_page_and_no_link_opens_a_new_tab():
    pages = {"index.html": '<a href="a.html#nowhere">a</a> <a href="a.html#here" target="_blank">b</a> '
                           '<a href="#top">c</a>',
             "a.html": '<h1 id="here">A</h1>'}
    tree = LexborHTMLParser(single.join_pages(pages, {}).files["index.html"].decode())
    links = tree.css("#p-home .m-body a")
    assert [a.attributes["href"] for a in links] == ["#p-a", "#p-a--here", "#p-home"]
    assert not [a for a in links if "target" in a.attributes]  # a new tab would be a second request


def test_slugs_are_unique_stable_and_never_hold_a_double_dash():
    paths = ["index.html", "home.html", "a/b.html", "a-b.html", "A-B.html", "x/index.html", "x.html",
             "\u00e9.html", "a--b.html"]
    slugs = slugs_for(paths, "index.html")
    assert slugs["index.html"] == "home" and len(set(slugs.values())) == len(paths)
    assert all(re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", s) for s in slugs.values()), slugs
    assert slugs == slugs_for(list(reversed(paths)), "index.html")


def _page_rules(css: str) -> list[str]:
    framework = {tinycss2.serialize(r.prelude).strip()
                 for r in tinycss2.parse_stylesheet(single.framework_css()) if r.type == "qualified-rule"}
    return [tinycss2.serialize(r.prelude).strip() for r in tinycss2.parse_stylesheet(css, True, True)
            if r.type == "qualified-rule" and tinycss2.serialize(r.prelude).strip() not in framework]


def test_page_stylesheets_are_confined_to_their_pages(joined, tree):
    css = tree.css_first("style").text()
    rules = _page_rules(css)
    assert rules and all(re.match(r":where\((body>\.m-s\d+|#p-[a-z0-9-]+)>\.m-body\)", sel)
                         for rule in rules for sel in rule.split(",")), rules
    home_sheets = tree.css_first("#p-home").attributes["class"].split()
    background = [s for s in home_sheets if f":where(body>.{s}>.m-body){{background:#ffe0e0}}" in css]
    assert len(background) == 1  # the home page's own colour, on the home page only
    assert ":where(#p-faq>.m-body) #p-faq--main{padding:1em}" in css  # id rules renamed per page


def test_hostile_page_css_cannot_hide_pages_or_the_bar():
    hostile = "<style>html,body,section,nav,.page,.m-bar,*{display:none}</style>"
    pages = {"index.html": f"<title>H</title>{hostile}<p>x", "b.html": "<p>b"}
    html = single.join_pages(pages, {}).files["index.html"].decode()
    css = LexborHTMLParser(html).css_first("style").text()
    for rule in _page_rules(css):
        for selector in rule.split(","):
            assert selector.startswith(":where(body>.m-s0>.m-body)"), selector


def test_the_has_switch_lives_only_inside_its_supports_block():
    rules = tinycss2.parse_stylesheet(single.framework_css(), True, True)
    outside = [tinycss2.serialize(r.prelude) for r in rules if r.type == "qualified-rule"]
    assert not [p for p in outside if ":has(" in p]
    supports = [r for r in rules if r.type == "at-rule" and r.lower_at_keyword == "supports"]
    assert [tinycss2.serialize(r.prelude).strip() for r in supports] == ["selector(:has(a))"]


def test_small_images_are_inlined_large_ones_kept_and_nothing_loads_lazily():
    big = single_site.tiny_png(size=200) + b"\0" * 20000
    pages = {"index.html": '<img src="img/dot.png" loading="lazy"><img src="big.png" loading="lazy">',
             "sub/p.html": '<img src="../big.png"><a href="../doc.pdf">pdf</a><a href="../gone.html">x</a>'}
    assets = {"img/dot.png": single_site.tiny_png(), "big.png": big, "doc.pdf": b"%PDF", "unused.css": b"p{}"}
    doc = single.join_pages(pages, assets)
    html = doc.files["index.html"].decode()
    assert sorted(doc.files) == ["big.png", "doc.pdf", "index.html"]
    assert 'src="data:image/png;base64,' in html and html.count('src="big.png"') == 2
    assert "loading=" not in html and 'href="doc.pdf"' in html
    assert doc.report.assets_kept == 2 and doc.report.assets_inlined == 1 and doc.report.dangling_links == 1
    assert "img-src 'self' data:" in doc.csp["index.html"]


def test_css_urls_are_inlined_or_dropped_never_left_to_load_later():
    pages = {"index.html": '<link rel="stylesheet" href="s/a.css"><p style="background:url(s/small.png)">x'}
    assets = {"s/a.css": b"@import 'b.css'; p{background:url(small.png)} h1{background:url(/huge.png)}",
              "s/b.css": b"h2{background:url('../s/small.png')}",
              "s/small.png": single_site.tiny_png(), "huge.png": b"\0" * (single.CSS_INLINE_MAX + 1)}
    doc = single.join_pages(pages, assets)
    html = doc.files["index.html"].decode()
    assert sorted(doc.files) == ["index.html"]
    assert html.count("data:image/png;base64,") == 3  # a.css, the imported b.css and the style attribute
    assert "h1{background:none}" in html and doc.report.dropped == ("huge.png",)
    assert "style-src 'unsafe-inline'" in doc.csp["index.html"]


def test_the_policy_allows_exactly_the_one_style_element(joined, tree):
    import base64
    import hashlib
    css = tree.css_first("style").text()
    digest = base64.b64encode(hashlib.sha256(css.encode()).digest()).decode()
    policy = joined.csp["index.html"]
    assert policy.startswith("default-src 'none'; ") and f"style-src 'sha256-{digest}'" in policy
    assert tree.css_first("meta[http-equiv]").attributes["content"] == policy
    assert tree.css_first("link[rel=icon]").attributes["href"] == "data:,"
    assert tree.css_first("meta[name=referrer]").attributes["content"] == "no-referrer"
    imageless = single.join_pages({"index.html": "<p>x"}, {}).csp["index.html"]
    assert "img-src data:;" in imageless  # the data: favicon needs it, or the browser asks for /favicon.ico


def test_the_report_gives_real_sizes_and_warns_above_the_threshold(joined):
    data = joined.files["index.html"]
    report = joined.report
    assert (report.raw, report.gzip) == (len(data), len(gzip.compress(data, 9, mtime=0)))
    assert 0 < report.brotli < report.gzip < report.raw and report.warning is None
    assert "One document: 12 pages" in report.lines()[0]
    big = single.SingleReport(300, 40 << 20, single.TOO_BIG_GZIP + 1, 1, 0, 0,
                              largest=(("spec.html", 3 << 20),))
    assert "without --single-document" in big.warning and big.lines()[-2].startswith("Warning:")
    assert single.SingleReport(300, single.TOO_BIG_RAW + 1, 1000, 1, 0, 0).warning  # many pages, small gzip
    assert big.lines()[-1] == "Largest pages: spec.html (3.0 MiB)"


def test_written_build_is_deterministic(tmp_path):
    for name in ("a", "b"):
        single.write_single(tmp_path / name, single_site.pages(), single_site.assets())
    assert (tmp_path / "a/index.html").read_bytes() == (tmp_path / "b/index.html").read_bytes()
    manifest = ".mirror/manifest.json"
    assert (tmp_path / "a" / manifest).read_bytes() == (tmp_path / "b" / manifest).read_bytes()


def test_no_pages_or_an_unknown_home_is_a_clear_error():
    with pytest.raises(single.BuildError, match="no pages"):
        single.join_pages({}, {})
    with pytest.raises(single.BuildError, match="home page 'x.html'"):
        single.join_pages({"a.html": "<p>a"}, {}, home="x.html")


def test_the_audit_gate_checks_fragments_inside_the_single_document(tmp_path):
    from mirror import build
    from mirror.errors import AuditFailed

    doc = single.join_pages(single_site.pages(), single_site.assets())
    build.write_build(tmp_path / "ok", doc.files, doc.csp)  # passes as joined
    broken = doc.files["index.html"].replace(b'href="#p-about"', b'href="#p-gone"', 1)
    with pytest.raises(AuditFailed, match="#p-gone"):
        build.write_build(tmp_path / "bad", {**doc.files, "index.html": broken}, doc.csp)


def test_cli_build_single_document_writes_one_audited_document_and_reports_sizes(tmp_path):
    from click.testing import CliRunner

    from mirror.cli import main
    from tests.conftest import ROOT

    result = CliRunner().invoke(main, ["build", "--site", str(ROOT / "site"), "-o", str(tmp_path / "out"),
                                       "--single-document"])
    assert result.exit_code == 0, result.output
    assert re.search(r"One document: 1 page, [\d,]+ B raw, [\d,]+ B gzip, [\d,]+ B brotli", result.output)
    html = (tmp_path / "out/index.html").read_text()
    assert '<section class="page home' in html and 'id="p-home--main"' in html


@pytest.mark.corpus
def test_whatwg_site_as_one_document_passes_the_audit(tmp_path):
    from mirror import audit
    from tests.conftest import need_shared

    corpus = need_shared("corpora/realsite/whatwg")
    from mirror import site_import

    multi = site_import.build_from(corpus, tmp_path / "multi")
    one = site_import.build_from(corpus, tmp_path / "one", single_document=True)  # raises unless audited
    multi_pages = [p for p in (tmp_path / "multi").rglob("*.html") if ".mirror" not in p.parts]
    assert one.pages == multi.pages > 200
    assert any(line.startswith(f"One document: {len(multi_pages)} pages") for line in one.lines())
    assert any(line.startswith("Warning: the single document is") for line in one.lines())  # too big to pay
    assert not audit.audit_dir(tmp_path / "one").errors
    built = [p for p in (tmp_path / "one").rglob("*") if p.is_file() and ".mirror" not in p.parts]
    assert [p.name for p in built if p.suffix in (".html", "")] == ["index.html"]


def test_pages_stream_in_reading_order_from_home_and_unlinked_pages_come_last():
    pages = {"index.html": '<a href="z/deep.html">z</a> <a href="b.html#x">b</a>',
             "a.html": "<p>nothing links here</p>", "b.html": '<p id=x><a href="c.html">c</a>',
             "c.html": '<a href="index.html">home</a>', "z/deep.html": '<a href="../c.html">c</a>'}
    html = single.join_pages(pages, {}).files["index.html"].decode()
    sections = re.findall(r'<section class="page[^"]*" id="(p-[^"]+)"', html)
    assert sections == ["p-home", "p-z-deep", "p-b", "p-c", "p-a"]
