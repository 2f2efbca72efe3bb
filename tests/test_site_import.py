"""``mirror build --from DIR``: the folder walk, URL map, images, report, CLI and atomic failure."""

from __future__ import annotations

import io
import json
import re

import pytest
from click.testing import CliRunner
from PIL import Image

from mirror import site_import
from mirror.cli import main
from mirror.errors import BuildError
from mirror.images import NotAnImage, strip_metadata
from mirror.site_map import SourceSite


def _jpeg_with_exif() -> bytes:
    im = Image.new("RGB", (8, 4), "red")
    exif = im.getexif()
    exif[0x010F] = "SecretCam"
    exif[0x0112] = 6  # rotated: the stripped image must keep the orientation the reader saw
    out = io.BytesIO()
    im.save(out, "JPEG", exif=exif.tobytes(), comment=b"author: someone")
    return out.getvalue()


@pytest.fixture
def source(tmp_path):
    src = tmp_path / "src"
    (src / "docs").mkdir(parents=True)
    (src / "img").mkdir()
    (src / "index.html").write_text(
        '<title>Home</title><link rel=stylesheet href="/style.css"><script src="app.js"></script>'
        '<a href="docs/">Docs</a> <a href="about">About</a> <a href="https://example.org/about?utm_source=x">'
        'Abs</a> <a href="/missing">Missing</a> <img src="img/photo.jpg" alt=p> <img src="img/diagram">'
        '<img src="https://cdn.other/x.png">',
        encoding="utf-8",
    )
    (src / "about").write_text("<!DOCTYPE html><title>About</title><p>About us", encoding="utf-8")
    (src / "docs/index.html").write_text('<p><a href="../index.html#top">Home</a>', encoding="utf-8")
    (src / "style.css").write_text("body{background:url(img/photo.jpg)} @import 'https://fonts.x/c.css';")
    (src / "app.js").write_text("alert(1)")
    (src / "img/photo.jpg").write_bytes(_jpeg_with_exif())
    buf = io.BytesIO()
    Image.new("RGB", (2, 2)).save(buf, "PNG")
    (src / "img/diagram").write_bytes(buf.getvalue())  # an extensionless image
    (src / ".git").mkdir()
    (src / ".git/config").write_text("secret")
    return src


def test_a_folder_becomes_a_local_site_with_extensionless_pages_and_directory_urls(source, tmp_path):
    out = tmp_path / "out"
    report = site_import.build_from(source, out, base_url="https://example.org/")
    index = (out / "index.html").read_text("utf-8")
    assert 'href="docs/index.html"' in index and 'href="about.html"' in index
    assert 'href="about.html" rel="noopener noreferrer">Abs' in index  # absolute, to --base-url: local
    assert 'src="img/diagram.png"' in index and (out / "img/diagram.png").is_file()
    assert '<link rel="stylesheet" href="style.css">' in index
    assert "cdn.other" not in index and "app.js" not in index and not (out / "app.js").exists()
    assert 'href="../index.html#top"' in (out / "docs/index.html").read_text("utf-8")
    assert "fonts.x" not in (out / "style.css").read_text() and not (out / ".git").exists()
    assert report.pages == 3 and report.dropped_files == ("app.js",)
    assert report.broken == (("index.html", "https://example.org/missing"),)
    assert report.removed["remote image"] == 1 and report.removed["remote stylesheet"] == 1


def test_images_lose_their_metadata_but_keep_their_orientation(source, tmp_path):
    site_import.build_from(source, tmp_path / "out")
    data = (tmp_path / "out/img/photo.jpg").read_bytes()
    assert b"SecretCam" not in data and b"someone" not in data
    with Image.open(io.BytesIO(data)) as im:
        assert im.size == (4, 8) and not im.getexif()
    with pytest.raises(NotAnImage):
        strip_metadata(b"not an image")


def test_the_manifest_records_each_pages_csp_and_the_build_is_deterministic(source, tmp_path):
    site_import.build_from(source, tmp_path / "a")
    site_import.build_from(source, tmp_path / "b")
    manifest = json.loads((tmp_path / "a/.mirror/manifest.json").read_text())
    assert "default-src 'none'" in manifest["files"]["index.html"]["csp"]
    assert manifest == json.loads((tmp_path / "b/.mirror/manifest.json").read_text())


def test_host_folders_are_one_site_each(tmp_path):
    src = tmp_path / "src"
    (src / "www.example.org").mkdir(parents=True)
    (src / "static.example.org").mkdir()
    (src / "www.example.org/index.html").write_text('<img src="https://static.example.org/a.png">')
    buf = io.BytesIO()
    Image.new("RGB", (2, 2)).save(buf, "PNG")
    (src / "static.example.org/a.png").write_bytes(buf.getvalue())
    site = SourceSite(src)
    assert site.hosts == {"www.example.org", "static.example.org"}
    assert site.locate("http://static.example.org/a.png") == (True, "static.example.org/a.png")
    assert site.locate("https://www.example.org/") == (True, "www.example.org/index.html")
    out = tmp_path / "out"
    site_import.build_from(src, out)
    assert 'src="../static.example.org/a.png"' in (out / "www.example.org/index.html").read_text()
    assert 'href="www.example.org/index.html"' in (out / "index.html").read_text()  # the generated index


def test_a_failed_build_leaves_the_previous_one_intact(source, tmp_path, monkeypatch):
    out = tmp_path / "out"
    site_import.build_from(source, out)
    before = (out / "index.html").read_bytes()
    (source / "about").write_text("<p>changed")

    def refuse(root, **kwargs):
        raise BuildError("refused by the gate")

    monkeypatch.setattr("mirror.build.gate", refuse)
    with pytest.raises(BuildError):
        site_import.build_from(source, out)
    assert (out / "index.html").read_bytes() == before
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".out")] == []


def test_the_cli_prints_the_report_and_bad_input_gives_a_sentence_not_a_traceback(source, tmp_path):
    runner = CliRunner()
    result = runner.invoke(
        main, ["build", "--from", str(source), "-o", str(tmp_path / "out"), "--external-links", "text"]
    )
    assert result.exit_code == 0, result.output
    assert "Built 3 page(s)" in result.output and "Broken links in the source (1):" in result.output
    assert "remote image 1" in result.output
    bad = runner.invoke(
        main, ["build", "--from", str(source), "--base-url", "ftp://x", "-o", str(tmp_path / "o")]
    )
    assert bad.exit_code == 1 and "--base-url 'ftp://x'" in bad.output and "Traceback" not in bad.output
    empty = tmp_path / "empty"
    empty.mkdir()
    none = runner.invoke(main, ["build", "--from", str(empty), "-o", str(tmp_path / "o")])
    assert none.exit_code == 1 and "no HTML page found" in none.output


def test_extensionless_files_get_the_extension_of_what_they_are(tmp_path):
    src = tmp_path / "src"
    (src / "style").mkdir(parents=True)
    (src / "style/main").write_text("body{background:url(https://t.example/p.gif);color:red}")
    (src / "LICENSE").write_text("MIT License\n\nCopyright (c) someone")
    (src / "index.html").write_text('<link rel=stylesheet href="/style/main"><p>x')
    site_import.build_from(src, tmp_path / "out")
    assert (tmp_path / "out/style/main.css").read_text() == "body{color:red;}"  # sanitized as CSS
    assert (tmp_path / "out/LICENSE.txt").is_file()
    assert 'href="style/main.css"' in (tmp_path / "out/index.html").read_text()


def test_svg_files_are_copied_only_when_inert(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    svg = '<svg xmlns="http://www.w3.org/2000/svg">{}</svg>'
    (src / "ok.svg").write_text(
        svg.format("<style>.a{fill:red}</style><rect class='a' width='1' height='1'/>")
    )
    (src / "script.svg").write_text(svg.format("<script>alert(1)</script>"))
    (src / "handler.svg").write_text(svg.format("<rect onclick='alert(1)'/>"))
    (src / "remote.svg").write_text(svg.format("<image href='https://t.example/x.png'/>"))
    (src / "escaped.svg").write_text(svg.format("<style>rect{fill:u\\72l(https://t.example/x)}</style>"))
    (src / "index.html").write_text('<img src="ok.svg" alt=ok><img src="script.svg" alt=s>')
    report = site_import.build_from(src, tmp_path / "out")
    assert sorted(p.name for p in (tmp_path / "out").glob("*.svg")) == ["ok.svg"]
    assert set(report.dropped_files) == {"script.svg", "handler.svg", "remote.svg", "escaped.svg"}
    assert 'src="ok.svg"' in (tmp_path / "out/index.html").read_text()
    assert "script.svg" not in (tmp_path / "out/index.html").read_text()
    assert any("Safest" in warning for warning in report.warnings)


def test_a_build_written_inside_the_source_is_not_read_back_as_part_of_the_site(source):
    first = site_import.build_from(source, source / "build" / "site")
    second = site_import.build_from(source, source / "build" / "site")
    assert first.pages == second.pages == 3


def test_cli_build_from_single_document_joins_the_sanitized_pages_into_one_audited_file(source, tmp_path):
    from mirror import audit

    out = tmp_path / "one"
    result = CliRunner().invoke(main, ["build", "--from", str(source), "-o", str(out), "--single-document",
                                       "--base-url", "https://example.org/"])
    assert result.exit_code == 0, result.output
    assert "into " + str(out) + "/ as one document" in result.output
    assert re.search(r"One document: 3 pages, [\d,]+ B raw, [\d,]+ B gzip, [\d,]+ B brotli", result.output)
    written = sorted(p.relative_to(out).as_posix() for p in out.rglob("*")
                     if p.is_file() and ".mirror" not in p.parts)
    assert [p for p in written if p.endswith(".html")] == ["index.html"]
    html = (out / "index.html").read_text("utf-8")
    # the sanitizer's work survives the join: no script, the tracker-stripped absolute link made local
    assert "<script" not in html and "app.js" not in html and "utm_source" not in html
    assert 'href="#p-docs"' in html and 'href="#p-about"' in html
    assert not audit.audit_dir(out).errors


def test_a_single_document_that_fails_the_audit_leaves_the_previous_build(source, tmp_path, monkeypatch):
    from mirror import single
    from mirror.errors import AuditFailed

    out = tmp_path / "one"
    site_import.build_from(source, out, single_document=True)
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    real_join = single.join_pages

    def broken_join(pages, assets, home=None):  # a join bug that would leave a link pointing nowhere
        doc = real_join(pages, assets, home)
        html = doc.files["index.html"].replace(b'href="#p-docs"', b'href="#p-nowhere"', 1)
        return single.SingleDocument({**doc.files, "index.html": html}, doc.csp, doc.report)

    monkeypatch.setattr(single, "join_pages", broken_join)
    with pytest.raises(AuditFailed, match="#p-nowhere"):
        site_import.build_from(source, out, single_document=True)
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before


def test_a_single_document_opens_on_the_page_of_the_base_url(tmp_path):
    src = tmp_path / "src"
    for host, body in (("example.org", '<a href="/docs/">docs</a>'), ("cdn.example.org", "<p>cdn")):
        (src / host / "docs").mkdir(parents=True)
        (src / host / "index.html").write_text(f"<title>{host}</title>{body}", encoding="utf-8")
        (src / host / "docs/index.html").write_text("<title>Docs</title><p>docs", encoding="utf-8")
    site_import.build_from(src, tmp_path / "a", base_url="https://example.org/docs/", single_document=True)
    site_import.build_from(src, tmp_path / "b", single_document=True)
    first = re.compile(r'<section class="page home[^"]*" id="p-home"[^>]*>\s*<p class="m-pagehead">.*?· (\S+)</p>')
    assert first.search((tmp_path / "a/index.html").read_text("utf-8")).group(1) == "example.org/docs/index.html"
    assert first.search((tmp_path / "b/index.html").read_text("utf-8")).group(1) == "index.html"
