"""Where each URL of a page points once every page lives in one document.

Owns: page slugs, the per-page id prefix and the resolution of a page's relative URLs against the set of
pages and assets. Never parses HTML or CSS and never decides what is safe.

    page ``faq/index.html``   ->  section id ``p-faq``
    its ``id="q3"``           ->  ``p-faq--q3``        (a slug never holds ``--``, so no two ids can clash)
    ``../faq/#q3``            ->  ``#p-faq--q3``; ``../faq/#gone`` -> ``#p-faq`` (the page, not a dead end)
    ``img/a.png``             ->  ``img/a.png`` relative to the document at the root (or a data: URL)
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass
from urllib.parse import quote, unquote, urlsplit

NOT_SLUG = re.compile(r"[^a-z0-9]+")
PAGE_SUFFIXES = (".html", ".htm", ".xhtml")
INDEX_NAMES = ("index.html", "index.htm")
FRAGMENT_SAFE = "!$&'()*+,;=:@/?-._~"


def slugs_for(paths: list[str], home: str) -> dict[str, str]:
    """A unique, stable slug per page path (``home`` gets ``home``), made of ``[a-z0-9-]`` without ``--``."""
    wanted = {path: ("home" if path == home else _base_slug(path)) for path in paths}
    taken: set[str] = set()
    counts: dict[str, int] = {}
    for slug in wanted.values():
        counts[slug] = counts.get(slug, 0) + 1
    result = {}
    for path in sorted(paths, key=lambda p: (p != home, p)):
        slug = wanted[path]
        if counts[slug] > 1 or slug in taken:
            slug = _next_free(slug, taken, counts)
        taken.add(slug)
        result[path] = slug
    return result


def _base_slug(path: str) -> str:
    stem = path
    for name in INDEX_NAMES:
        if stem == name or stem.endswith("/" + name):
            stem = stem[: -len(name)]
    for suffix in PAGE_SUFFIXES:
        if stem.endswith(suffix):
            stem = stem[: -len(suffix)]
    return NOT_SLUG.sub("-", stem.lower()).strip("-") or "page"


def _next_free(slug: str, taken: set[str], counts: dict[str, int]) -> str:
    if slug not in taken:
        return slug  # the first of several pages with this slug keeps it
    n = 2
    while f"{slug}-{n}" in taken or f"{slug}-{n}" in counts:
        n += 1
    return f"{slug}-{n}"


def fragment_href(element_id: str) -> str:
    return "#" + quote(element_id, safe=FRAGMENT_SAFE)


def encode_path(relpath: str) -> str:
    return quote(relpath, safe="/!$&'()*+,;=:@-._~")


@dataclass(frozen=True)
class Target:
    """What a URL written in a page refers to."""

    kind: str  # "page", "asset", "external" or "missing"
    path: str = ""  # the page or asset path
    fragment: str = ""  # decoded fragment, for pages


class Site:
    """The pages (with the ids each holds) and the assets of the site being joined."""

    def __init__(self, page_ids: dict[str, set[str]], assets: set[str], home: str):
        self.page_ids = page_ids
        self.assets = assets
        self.slugs = slugs_for(list(page_ids), home)

    def section_id(self, page: str) -> str:
        return f"p-{self.slugs[page]}"

    def inner_id(self, page: str, element_id: str) -> str:
        return f"p-{self.slugs[page]}--{element_id}"

    def resolve(self, page: str, url: str) -> Target:
        """Resolve ``url`` as written in ``page`` (a relative path of the site)."""
        url = url.strip()
        parts = urlsplit(url)
        if parts.scheme or parts.netloc or url.startswith("//"):
            return Target("external", url)
        fragment = unquote(parts.fragment)
        if not parts.path:
            return Target("page", page, fragment)
        path = _join(page, unquote(parts.path))
        if path is None:
            return Target("missing", url)
        for candidate in _candidates(path, parts.path.endswith("/")):
            if candidate in self.page_ids:
                return Target("page", candidate, fragment)
            if candidate in self.assets:
                return Target("asset", candidate)
        return Target("missing", url)

    def page_href(self, target: Target) -> str:
        """The in-document href of a page target: its section, or the element when the page has that id."""
        if target.fragment and target.fragment in self.page_ids[target.path]:
            return fragment_href(self.inner_id(target.path, target.fragment))
        return fragment_href(self.section_id(target.path))


def _join(page: str, path: str) -> str | None:
    joined = path.lstrip("/") if path.startswith("/") else posixpath.join(posixpath.dirname(page), path)
    normal = posixpath.normpath(joined) if joined else "."
    if normal == ".":
        return ""
    if normal.startswith("../") or normal == "..":
        return None
    return normal


def _candidates(path: str, is_dir: bool) -> list[str]:
    folder = f"{path}/" if path else ""
    indexes = [folder + name for name in INDEX_NAMES]
    if is_dir or not path:
        return indexes
    return [path] + [path + suffix for suffix in PAGE_SUFFIXES] + indexes
