"""A multi-page build -> one document: the server sees one request, never which page a reader reads.

Owns: joining sanitized pages (relative path -> HTML) and their assets (relative path -> bytes) into one
``index.html`` in which every page is ``<section class="page" id="p-SLUG">``, shown by CSS ``:target`` and
``:has()`` alone, plus the assets it still points at. Never sanitizes (its input is the sanitizer's output,
and the audit judges its output) and never writes outside ``build.write_build``.

Choices, each with its reason:

* ``<img>`` files are inlined as ``data:`` URLs when their base64 form, summed over every use, is at most
  ``INLINE_MAX`` (16 KiB): base64 costs a third more bytes (16 KiB -> 5 KiB extra, ~20 ms at 2 Mbit/s) while
  a separate request costs at least one round trip (~400 ms over Tor); a larger image, or one repeated on
  many pages, stays a file beside the document and loads eagerly at the first visit, the same for every
  reader (``loading=lazy`` is removed: a lazy image would be fetched when its page is shown, telling the
  server which page is read).
* URLs in CSS (backgrounds, fonts) are fetched only when the element they style is shown, so a file would
  reveal the page being read: they are inlined up to ``CSS_INLINE_MAX`` (64 KiB) and dropped above it
  (replaced by ``none``; the report lists them).
* Pages follow each other in reading order (``reading_order``: breadth first from the home page), since the
  browser shows the document as it streams in: the pages a reader is likely to open come first.
* The report warns when the document passes either threshold. ``TOO_BIG_GZIP`` (1 MiB gzipped, the
  coding an http onion page travels in: Firefox offers brotli over https only): ~4 s at 2 Mbit/s, the price
  of about ten separate page loads at 400 ms each, more than most readers spend in a site; a deep link
  waits for most of it. ``TOO_BIG_RAW`` (4 MiB of HTML): a page switch re-evaluates ``:has(:target)`` over
  the whole document; Chromium's own style+layout time per click (bench/single_document.py, whatwg pages,
  two runs on a shared 2-core machine) grows from 13-16 ms at 1 MiB (35k nodes) to 26-68 ms at 4.6 MiB
  (144k nodes), 80-160 ms at 15 MiB and 130-290 ms at 27 MiB (905k nodes). A phone is several times
  slower, so past 4 MiB a page switch stops feeling instant (100 ms) for many readers.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import logging
import re
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import brotli
import jinja2
from markupsafe import Markup
from selectolax.lexbor import LexborHTMLParser

from mirror import build
from mirror.errors import BuildError
from mirror.single_links import Site, encode_path
from mirror.single_page import PageParts, rewrite_page

log = logging.getLogger(__name__)

INLINE_MAX = 16 * 1024
CSS_INLINE_MAX = 64 * 1024
TOO_BIG_GZIP = 1024 * 1024
TOO_BIG_RAW = 4 * 1024 * 1024
BROTLI_Q11_UP_TO = 128 * 1024
DOCUMENT = "index.html"
CLOSE_STYLE = re.compile(r"</(style)", re.I)


@dataclass(frozen=True)
class SingleReport:
    pages: int
    raw: int
    gzip: int
    brotli: int
    assets_kept: int
    assets_inlined: int
    dropped: tuple[str, ...] = ()
    dangling_links: int = 0
    largest: tuple[tuple[str, int], ...] = ()  # the pages that weigh most (path, bytes of HTML)

    @property
    def warning(self) -> str | None:
        if self.gzip <= TOO_BIG_GZIP and self.raw <= TOO_BIG_RAW:
            return None
        seconds = self.gzip * 8 / 2_000_000
        return (f"the single document is {self.raw / 2**20:.1f} MiB ({self.gzip / 2**20:.1f} MiB gzipped, "
                f"~{seconds:.0f} s at 2 Mbit/s before the last page arrives); above "
                f"{TOO_BIG_GZIP // 2**20} MiB gzipped or {TOO_BIG_RAW // 2**20} MiB of HTML, downloading it "
                "and switching pages in it cost more than separate pages do. Consider building without "
                "--single-document.")

    def lines(self) -> list[str]:
        pages = f"{self.pages} page{'' if self.pages == 1 else 's'}"
        out = [f"One document: {pages}, {self.raw:,} B raw, {self.gzip:,} B gzip, "
               f"{self.brotli:,} B brotli; {self.assets_kept} asset file(s) beside it, "
               f"{self.assets_inlined} inlined."]
        if self.dropped:
            out.append(f"{len(self.dropped)} URL(s) in CSS dropped (too big to inline): "
                       f"{', '.join(self.dropped[:5])}")
        if self.dangling_links:
            out.append(f"{self.dangling_links} link(s) to files not in the build lost their href.")
        if self.warning:
            out.append(f"Warning: {self.warning}")
            out.append("Largest pages: " + ", ".join(f"{path} ({size / 2**20:.1f} MiB)"
                                                     for path, size in self.largest))
        return out


@dataclass(frozen=True)
class SingleDocument:
    files: dict[str, bytes]
    csp: dict[str, str]
    report: SingleReport


def write_single(out: Path, pages: dict[str, str], assets: dict[str, bytes],
                 home: str | None = None) -> tuple[build.BuildResult, SingleReport]:
    """Join ``pages`` and ``assets`` into one document and write it as a build (atomic, audited)."""
    doc = join_pages(pages, assets, home)
    return build.write_build(out, doc.files, doc.csp), doc.report


def build_single_site(site_dir: Path, out: Path) -> SingleReport:
    """``mirror build --single-document``: the site/ source's pages as one document."""
    from mirror import render

    pages = {doc.path: doc.html for doc in render.render_site(site_dir)}
    return write_single(out, pages, {})[1]


def read_build(root: Path) -> tuple[dict[str, str], dict[str, bytes]]:
    """The pages (HTML by the manifest's type) and assets of a multi-file build directory."""
    import json

    root = Path(root)
    try:
        manifest = json.loads((root / build.MANIFEST).read_text(encoding="utf-8"))["files"]
    except (OSError, ValueError, KeyError) as e:
        raise BuildError(f"{root} has no readable {build.MANIFEST}; give a build directory made by "
                         "`mirror build`.") from e
    pages, assets = {}, {}
    for rel, entry in manifest.items():
        data = (root / rel).read_bytes()
        if entry.get("type", "").startswith("text/html"):
            pages[rel] = data.decode("utf-8", errors="replace")
        else:
            assets[rel] = data
    return pages, assets


def join_pages(pages: dict[str, str], assets: dict[str, bytes], home: str | None = None) -> SingleDocument:
    """Join ``pages`` (relative path -> HTML) and ``assets`` into one ``index.html`` and the files it uses."""
    if not pages:
        raise BuildError("there are no pages to join into a single document; check the source folder.")
    home = home or (DOCUMENT if DOCUMENT in pages else sorted(pages)[0])
    if home not in pages:
        raise BuildError(f"the home page {home!r} is not among the pages; pick one of them.")
    # One parsed page at a time: a whole site's trees at once took 830 MB for whatwg's 27 MB of HTML.
    ids, hrefs, images = {}, {}, {}
    for path, text in sorted(pages.items()):
        tree = LexborHTMLParser(text)
        ids[path] = _ids_of(tree)
        hrefs[path] = [node.attributes.get("href") or "" for node in tree.css("a[href], area[href]")]
        images[path] = [node.attributes.get("src") or node.attributes.get("poster") or ""
                        for node in tree.css("img[src], input[src], video[poster]")]
    site = Site(ids, set(assets), home)
    joiner = _Joiner(site, assets, _image_uses(site, images))
    order = reading_order(site, hrefs, home)
    parts = [rewrite_page(site, path, LexborHTMLParser(pages[path]), joiner) for path in order]
    return joiner.finish(parts, home)


def _ids_of(tree) -> set[str]:
    ids = {node.attributes.get("id") for node in tree.css("[id]")}
    ids |= {node.attributes.get("name") for node in tree.css("a[name], map[name]")}
    return {i for i in ids if i}


def reading_order(site: Site, hrefs: dict[str, list[str]], home: str) -> list[str]:
    """Pages in the order a reader reaches them: breadth first from ``home`` along links as they appear,
    then the pages no link reaches, by path. The document streams in this order, so a page one click from
    home is shown (and a deep link to it lands) long before a page that nothing links to has arrived."""
    order, seen, level = [], {home}, [home]
    while level:
        order += level
        following = []
        for path in level:
            for href in hrefs[path]:
                target = site.resolve(path, href)
                if target.kind == "page" and target.path not in seen:
                    seen.add(target.path)
                    following.append(target.path)
        level = following
    return order + [path for path in sorted(hrefs) if path not in seen]


def _image_uses(site: Site, images: dict[str, list[str]]) -> dict[str, int]:
    uses: dict[str, int] = {}
    for path, urls in images.items():
        for url in urls:
            target = site.resolve(path, url)
            if target.kind == "asset":
                uses[target.path] = uses.get(target.path, 0) + 1
    return uses


def brotli_compress(data: bytes) -> bytes:
    """Brotli as a build compresses: quality 11 costs ~30x quality 9 on a document of many megabytes."""
    return brotli.compress(data, quality=11 if len(data) <= BROTLI_Q11_UP_TO else 9)


def data_url(path: str, data: bytes) -> str:
    ctype = build.content_type(path).replace("; charset=utf-8", ";charset=utf-8")
    return f"data:{ctype};base64,{base64.b64encode(data).decode('ascii')}"


@dataclass
class _Joiner:
    """State shared by every page: asset decisions, stylesheets in first-seen order, what was dropped."""

    site: Site
    assets: dict[str, bytes]
    image_uses: dict[str, int]
    kept: set[str] = field(default_factory=set)
    inlined: set[str] = field(default_factory=set)
    dropped: list[str] = field(default_factory=list)
    sheets: dict = field(default_factory=dict)  # key -> (Sheet, class name)
    dangling: int = 0
    style_attributes: bool = False
    media: bool = False

    def asset_url(self, path: str) -> str:
        """An asset referenced by an element: inlined when small and rarely repeated, else kept as a file."""
        data = self.assets[path]
        if (len(data) * 4 // 3 + 64) * max(1, self.image_uses.get(path, 0)) <= INLINE_MAX:
            self.inlined.add(path)
            return data_url(path, data)
        self.kept.add(path)
        return encode_path(path)

    def link_to_asset(self, path: str) -> str:
        self.kept.add(path)
        return encode_path(path)

    def css_url(self, path: str) -> str | None:
        data = self.assets[path]
        if len(data) > CSS_INLINE_MAX:
            self.dropped.append(path)
            log.warning("%s is referenced from CSS and larger than %d KiB: dropped (a file would be fetched "
                        "only when its page shows).", path, CSS_INLINE_MAX // 1024)
            return None
        self.inlined.add(path)
        return data_url(path, data)

    def sheet_class(self, key, make) -> tuple[object, str]:
        if key not in self.sheets:
            self.sheets[key] = (make(), f"m-s{len(self.sheets)}")
        return self.sheets[key]

    def finish(self, parts: list[PageParts], home: str) -> SingleDocument:
        css = _document_css(self.sheets.values(), parts)
        csp = self._policy(css)
        title = next(p.title for p in parts if p.path == home)
        text = _render(css, csp, title, parts, self.site.section_id(home))
        data = text.encode("utf-8")
        files = {DOCUMENT: data}
        files.update({path: self.assets[path] for path in sorted(self.kept)})
        report = SingleReport(len(parts), len(data), len(gzip.compress(data, 9, mtime=0)),
                              len(brotli_compress(data)), len(self.kept),
                              len(self.inlined - self.kept), tuple(self.dropped), self.dangling,
                              tuple(sorted(((p.path, len(p.body)) for p in parts), key=lambda x: -x[1])[:3]))
        return SingleDocument(files, {DOCUMENT: csp}, report)

    def _policy(self, css: str) -> str:
        digest = base64.b64encode(hashlib.sha256(css.encode("utf-8")).digest()).decode("ascii")
        # hashes cannot allow style="" attributes in every browser Tor Browser is built on
        style = "'unsafe-inline'" if self.style_attributes else f"'sha256-{digest}'"
        policy = [f"default-src 'none'; style-src {style}"]
        # data: always: it lets <link rel=icon href="data:,"> stand in for the favicon without a request
        policy.append("img-src 'self' data:" if self.kept else "img-src data:")
        if self.inlined:
            policy.append("font-src data:")
        if self.media and self.kept:
            policy.append("media-src 'self'")
        policy.append("base-uri 'none'; form-action 'none'")
        return "; ".join(policy)


def framework_css() -> str:
    """The document's own CSS: one page shown at a time where ``:has()`` exists, all pages elsewhere."""
    return resources.files("mirror").joinpath("templates/single.css").read_text(encoding="utf-8")


def _document_css(sheets, parts: list[PageParts]) -> str:
    chunks = [framework_css().strip()]
    for sheet, name in sheets:
        chunks.append(sheet.shared(name))
        chunks.extend(part.id_rules.get(name, "") for part in parts)
    return CLOSE_STYLE.sub(r"<\\/\1", "\n".join(c for c in chunks if c))


def _render(css: str, csp: str, title: str, parts: list[PageParts], home_id: str) -> str:
    env = jinja2.Environment(loader=jinja2.PackageLoader("mirror", "templates"), autoescape=True,
                             undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True,
                             keep_trailing_newline=True)
    pages = [{"id": p.section_id, "classes": " ".join(p.classes), "lang": p.lang, "dir": p.dir,
              "title": p.title, "path": p.path, "body": Markup(p.body)} for p in parts]
    return env.get_template("single.html").render(
        css=Markup(css), csp=csp, title=title, lang=parts[0].lang, pages=pages, home_href=f"#{home_id}")
