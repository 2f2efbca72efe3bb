"""``mirror build --from DIR``: a folder of static files -> an audited, sanitized build directory.

Owns: turning each file of the source inventory (mirror/site_map.py) into build output (pages through
mirror/sanitize.py, stylesheets through sanitize_css.py, images through images.py, SVG files only when
inert, scripts never) and the report of what was removed. Writes only through ``build.write_build``;
reports progress through a callback and never prints.
"""

from __future__ import annotations

import html
import logging
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urljoin

from mirror import build
from mirror.errors import BuildError
from mirror.images import NotAnImage, strip_metadata
from mirror.sanitize import Sanitizer
from mirror.sanitize_css_pieces import is_quiet
from mirror.site_fragments import fix_fragments
from mirror.site_map import SourceFile, SourceSite

log = logging.getLogger(__name__)

Progress = Callable[[int, int, str], None]
ROOT_INDEX_CSS = "body{font:1.1rem/1.5 Georgia,serif;max-width:40rem;margin:2rem auto;padding:0 1rem}"
SVG_NS = "http://www.w3.org/2000/svg"
SVG_FORBIDDEN_TAGS = frozenset(
    {
        "script",
        "foreignobject",
        "iframe",
        "object",
        "embed",
        "handler",
        "listener",
        "set",
        "animate",
        "animatetransform",
        "animatemotion",
        "style",
        "image",
        "use",
        "feimage",
        "a",
    }
)


@dataclass(frozen=True)
class ImportReport:
    out: Path
    pages: int
    assets: int
    removed: dict[str, int]
    dropped_files: tuple[str, ...]
    warnings: tuple[str, ...]
    broken: tuple[tuple[str, str], ...]  # (page in the source, URL it links to)
    total_bytes: int
    notes: tuple[str, ...] = ()  # what a later step (one document) adds to the report

    def lines(self, limit: int = 20) -> list[str]:
        """The report a user reads: counts first, then the warnings and broken links (the first ``limit``)."""
        how = "as one document " if self.notes else ""
        out = [
            f"Built {self.pages} page(s) and {self.assets} other file(s) into {self.out}/ {how}"
            f"({self.total_bytes:,} bytes)."
        ]
        if self.removed:
            out.append("Removed or changed: " + ", ".join(f"{kind} {n}" for kind, n in self.removed.items()))
        for title, items in (
            ("Files not copied", self.dropped_files),
            ("Warnings", self.warnings),
            ("Broken links in the source", [f"{p} -> {u}" for p, u in self.broken]),
        ):
            if items:
                out.append(f"{title} ({len(items)}):")
                out += [f"  {item}" for item in items[:limit]]
                out += [f"  ... and {len(items) - limit} more"] if len(items) > limit else []
        return out + list(self.notes)


def build_from(
    source: Path,
    out: Path,
    base_url: str | None = None,
    external_links: str = "mark",
    progress: Progress | None = None,
    single_document: bool = False,
    start_url: str | None = None,
    charsets: dict[str, str] | None = None,
) -> ImportReport:
    """Sanitize every file of ``source`` into the build directory ``out`` (swapped in only if audited);
    with ``single_document``, its pages joined into one ``index.html`` (mirror/single.py) that opens on
    the page at ``start_url`` (default: ``base_url``). ``charsets``: the charset each page (path in
    ``source``) was served with, when known (a crawl records it); it comes before the page's own <meta>."""
    site = SourceSite(source, base_url, skip=out)  # a build written inside the source is not the site
    if not any(f.kind == "page" for f in site.files.values()):
        raise BuildError(
            f"--from {source}: no HTML page found; give the folder holding the site's HTML files."
        )
    job = _Import(site, Sanitizer(site, external_links), charsets or {})
    # Pages last: an asset found unusable on the way is then known as missing to the pages linking to it.
    todo = sorted(site.files.values(), key=lambda f: f.kind == "page")
    for done, entry in enumerate(todo, 1):
        job.add(entry)
        if progress:
            progress(done, len(todo), entry.rel)
    job.add_root_index()
    pages = {rel: job.files[rel] for rel in job.csp}
    source_of = {entry.out: entry for entry in site.files.values()}
    for page, href in fix_fragments(pages):
        job.removed["link to a missing #fragment (fixed)"] += 1
        entry = source_of.get(page)
        if entry:  # named as the source names it: its own path and the absolute URL of the link
            job.broken.add((entry.rel, urljoin(entry.url, href)))
    job.files.update(pages)
    start_url = start_url or base_url
    result, notes = _write(out, job, single_document, site.locate(start_url)[1] if start_url else None)
    return ImportReport(
        out,
        job.pages,
        len(job.files) - job.pages,
        dict(sorted((k, n) for k, n in job.removed.items() if n)),
        tuple(job.dropped),
        tuple(job.warnings + sorted(job.page_warnings)),
        tuple(sorted(job.broken)),
        result.total_bytes,
        notes,
    )


def _write(out: Path, job: _Import, single_document: bool,
           start: str | None) -> tuple[build.BuildResult, tuple[str, ...]]:
    """Write the build; as one document, its home page is the page at --base-url (the crawl's start)."""
    if not single_document:
        return build.write_build(out, job.files, job.csp), ()
    from mirror import single

    pages = {rel: job.files[rel].decode("utf-8") for rel in job.csp}  # the sanitizer writes UTF-8
    assets = {rel: data for rel, data in job.files.items() if rel not in job.csp}
    doc = single.join_pages(pages, assets, start if start in pages else None)
    return build.write_build(out, doc.files, doc.csp), tuple(doc.report.lines())


class _Import:
    def __init__(self, site: SourceSite, sanitizer: Sanitizer, charsets: dict[str, str]):
        self.site, self.sanitizer, self.charsets = site, sanitizer, charsets
        self.files: dict[str, bytes] = {}
        self.csp: dict[str, str] = {}
        self.removed: Counter = Counter()
        self.dropped: list[str] = []
        self.warnings: list[str] = []
        self.page_warnings: set[str] = set()
        self.broken: set[tuple[str, str]] = set()
        self.pages = 0

    def add(self, entry: SourceFile) -> None:
        data = self._read(entry.rel)
        handler = getattr(self, f"_{entry.kind}")
        result = handler(entry, data)
        if result is not None:
            self.files[entry.out] = result

    def _read(self, rel: str) -> bytes:
        try:
            return (self.site.root / rel).read_bytes()
        except OSError as e:
            raise BuildError(f"could not read {self.site.root / rel}: {e.strerror}.") from e

    def _page(self, entry: SourceFile, data: bytes) -> bytes:
        page = self.sanitizer.page(data, entry.url, entry.out, self.charsets.get(entry.rel))
        self.pages += 1
        self.csp[entry.out] = page.csp
        self.removed.update(page.removed)
        self.page_warnings.update(page.warnings)
        self.broken.update((entry.rel, url) for url in page.broken)
        return page.html

    def _css(self, entry: SourceFile, data: bytes) -> bytes:
        text = data.decode("utf-8", "replace").removeprefix("\ufeff")
        return self.sanitizer.css.stylesheet(text, entry.url, entry.out, self.removed).encode("utf-8")

    def _image(self, entry: SourceFile, data: bytes) -> bytes | None:
        try:
            return strip_metadata(data)
        except NotAnImage as e:
            return self._drop(entry, f"not a readable image ({e}); not copied")

    def _svg(self, entry: SourceFile, data: bytes) -> bytes | None:
        why = _svg_risk(data)
        if why:
            return self._drop(entry, f"SVG file {why}; not copied")
        return data

    def _asset(self, entry: SourceFile, data: bytes) -> bytes:
        return data

    def _dropped(self, entry: SourceFile, data: bytes) -> None:
        self.dropped.append(entry.rel)
        self.removed["file not copied (script, XML, plugin or unknown type)"] += 1

    def _drop(self, entry: SourceFile, why: str) -> None:
        self.site.drop(entry.rel)
        self.dropped.append(entry.rel)
        self.warnings.append(f"{entry.rel}: {why}")
        return None

    def add_root_index(self) -> None:
        """Several host folders and no top page: write an index naming them."""
        if "index.html" in self.files or not self.site.hosts:
            return
        items = "".join(
            f'<li><a href="https://{html.escape(h)}/">{html.escape(h)}</a></li>'
            for h in sorted(self.site.hosts)
        )
        source = (f"<!DOCTYPE html><title>Mirror</title><style>{ROOT_INDEX_CSS}</style><h1>Mirror</h1>"
                  f"<p>The sites in this mirror:</p><ul>{items}</ul>")
        page = self.sanitizer.page(source, self.site.url_of("index.html"), "index.html")
        self.files["index.html"], self.csp["index.html"] = page.html, page.csp


def _svg_risk(data: bytes) -> str:
    """Why an SVG file could run script or load something when opened; "" when it is inert."""
    if b"<!ENTITY" in data or b"<!entity" in data:
        return "declares entities"
    try:
        root = ET.fromstring(data)
    except ET.ParseError as e:
        return f"is not well-formed XML ({e})"
    for element in root.iter():
        namespace, _, tag = str(element.tag).rpartition("}")
        tag = tag.lower()
        if namespace != "{" + SVG_NS:
            return f"contains <{tag}>, which is not SVG"
        inert_style = tag == "style" and is_quiet("".join(element.itertext()))
        if tag in SVG_FORBIDDEN_TAGS and not inert_style:  # CSS that loads nothing is as inert as the rest
            return f"contains <{tag}>"
        for name, value in element.attrib.items():
            local = name.rsplit("}", 1)[-1].lower()
            compact = "".join(value.split()).lower()
            if (
                local.startswith("on")
                or (local == "href" and not compact.startswith("#"))
                or compact.count("url(") != compact.count("url(#")
            ):
                return f"has a {local} attribute that could run script or load a file"
    return ""
