"""A source folder seen as a web site: which URL each file answers to, and which file a URL names.

Owns: the file inventory of ``mirror build --from DIR`` (what each file is, where it goes in the build)
and URL -> file resolution: host folders (``whatwg.org/``, ``resources.whatwg.org/`` ... side by side),
``--base-url``, extensionless pages, directory URLs (``dir/`` -> ``dir/index.html``). Never parses HTML.
"""

from __future__ import annotations

import os
import posixpath
import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

import tinycss2

from mirror.errors import BuildError
from mirror.sanitize_rules import ASSET_SUFFIXES, HTML_SUFFIXES, IMAGE_SUFFIXES, SNIFF

HOST_FOLDER = re.compile(r"^(?=.{4,253}$)([a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.)+[a-z]{2,63}$")
DEFAULT_ORIGIN = "https://site.invalid"
INDEX_NAMES = ("index.html", "index.htm")
_HTML_START = re.compile(
    rb"^\s*(<!--.*?-->\s*)*<(!doctype\s+html|html|head|body|title|meta|p|div|h1)\b", re.I | re.S
)


@dataclass(frozen=True)
class SourceFile:
    rel: str  # path in the source folder (POSIX)
    kind: str  # "page", "css", "image", "svg", "asset" (copied as is), or "dropped" (not copied)
    out: str  # path in the build ("" when dropped)
    url: str  # the absolute URL it answers to


class SourceSite:
    """The inventory of a source folder and its URL map; a ``links.SiteMap``."""

    def __init__(self, root: Path, base_url: str | None = None, skip: Path | None = None):
        """``skip``: a folder inside ``root`` that is not part of the site (the build being written)."""
        self.root = Path(root)
        if not self.root.is_dir():
            raise BuildError(f"--from {root}: not a folder; give the folder holding the site's HTML files.")
        self.origin, self.prefix = _origin(base_url)
        rels = sorted(_walk(self.root, Path(skip).resolve() if skip else None))
        self.hosts = {
            rel.split("/", 1)[0] for rel in rels if "/" in rel and HOST_FOLDER.match(rel.split("/", 1)[0])
        }
        self.dirs = {posixpath.dirname(rel) for rel in rels} | {""}
        self.dirs |= {"/".join(d.split("/")[:i]) for d in list(self.dirs) for i in range(1, d.count("/") + 1)}
        self.files: dict[str, SourceFile] = {}
        taken: set[str] = set()
        for rel in rels:
            kind, out = self._classify(rel, taken)
            taken.add(out)
            self.files[rel] = SourceFile(rel, kind, out, self.url_of(rel))

    def drop(self, rel: str) -> None:
        """``rel`` turned out unusable: links to it are now broken links."""
        entry = self.files[rel]
        self.files[rel] = SourceFile(rel, "dropped", "", entry.url)

    def url_of(self, rel: str) -> str:
        first, _, rest = rel.partition("/")
        if first in self.hosts and rest:
            return f"https://{first}/{rest}"
        return f"{self.origin}{self.prefix}{rel}"

    def locate(self, url: str) -> tuple[bool, str | None]:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
        path = unquote(parts.path) or "/"
        if host.startswith("www.") and host[4:] in self.hosts and host not in self.hosts:
            host = host[4:]
        if host in self.hosts:
            folder = host + "/"
        elif f"{parts.scheme}://{parts.netloc}".lower() in self._origins() and path.startswith(self.prefix):
            folder, path = "", path[len(self.prefix) - 1 :]
        else:
            return False, None
        found = self._find(folder, path)
        return True, (found.out if found and found.kind != "dropped" else None)

    def _origins(self) -> set[str]:
        host = urlsplit(self.origin).netloc.lower()
        return {f"http://{host}", f"https://{host}"}

    def _find(self, folder: str, path: str) -> SourceFile | None:
        rel = posixpath.normpath(posixpath.join(folder, path.lstrip("/")))
        rel = "" if rel == "." else rel
        if rel == ".." or rel.startswith("../"):
            return None
        candidates = [] if path.endswith("/") else [rel, rel + ".html", rel + ".htm"]
        if rel in self.dirs:
            candidates += [posixpath.join(rel, name) for name in INDEX_NAMES]
        return next((self.files[c] for c in candidates if c in self.files), None)

    def _classify(self, rel: str, taken: set[str]) -> tuple[str, str]:
        name = rel.rsplit("/", 1)[-1]
        suffix = posixpath.splitext(name)[1].lower()
        if suffix in HTML_SUFFIXES:
            return "page", _free(rel if suffix in (".html", ".htm") else rel[: -len(suffix)] + ".html", taken)
        if suffix == ".css":
            return "css", rel
        if suffix == ".svg":
            return "svg", rel
        if suffix in IMAGE_SUFFIXES:
            return "image", rel
        if suffix in ASSET_SUFFIXES:
            return "asset", rel
        if suffix:  # scripts, XML (it can carry XHTML script), plugins, anything not known to be inert
            return "dropped", ""
        head = (self.root / rel).read_bytes()[:512]
        if _HTML_START.match(head.removeprefix(b"\xef\xbb\xbf")):
            return "page", _free(rel + ".html", taken)
        sniffed = next((ext for magic, ext in SNIFF if head.startswith(magic)), "")
        if sniffed:
            return ("image" if sniffed in IMAGE_SUFFIXES else "asset"), _free(rel + sniffed, taken)
        if _is_stylesheet((self.root / rel).read_bytes()):  # sanitized like any stylesheet, then
            return "css", _free(rel + ".css", taken)
        return "asset", _free(rel + ".txt", taken)


def _is_stylesheet(data: bytes) -> bool:
    """An extensionless text file that parses as CSS without a single error (a LICENSE does not)."""
    try:
        rules = tinycss2.parse_stylesheet(data.decode("utf-8"), skip_comments=True, skip_whitespace=True)
    except (UnicodeDecodeError, RecursionError):
        return False
    return bool(rules) and all(rule.type in ("qualified-rule", "at-rule") for rule in rules)


def _free(out: str, taken: set[str]) -> str:
    stem, suffix = posixpath.splitext(out)
    candidate, n = out, 1
    while candidate in taken:
        candidate, n = f"{stem}-{n}{suffix}", n + 1
    return candidate


def _origin(base_url: str | None) -> tuple[str, str]:
    if not base_url:
        return DEFAULT_ORIGIN, "/"
    parts = urlsplit(base_url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise BuildError(f"--base-url {base_url!r}: give the site's address, such as https://example.org/.")
    prefix = parts.path if parts.path.endswith("/") else parts.path + "/"
    return f"{parts.scheme}://{parts.netloc.lower()}", prefix


def _walk(root: Path, skip: Path | None):
    """Every regular file under ``root`` (POSIX relative paths); hidden entries, symlinks and ``skip``
    are left out."""
    for folder, dirs, names in os.walk(root, followlinks=False):
        dirs[:] = sorted(
            d
            for d in dirs
            if not d.startswith(".")
            and not os.path.islink(os.path.join(folder, d))
            and Path(folder, d).resolve() != skip
        )
        for name in names:
            path = Path(folder, name)
            if not name.startswith(".") and not path.is_symlink() and path.is_file():
                yield path.relative_to(root).as_posix()
