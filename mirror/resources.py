"""What the server can send: a build directory loaded once into ready-made responses.

Owns: reading ``.mirror/manifest.json`` (or hashing the files when a directory has none), deciding
which files are servable at all, and building each file's header blocks (content type, ETag from the
content hash, the page's CSP, the fixed privacy headers) so a request costs one dict lookup and one
write. Never parses requests (http.py) and never touches sockets (serve.py).

Servable means: listed (or found) inside the root, a regular file, reached without any symlink, and no
path segment starting with a dot -- so ``.mirror/``, ``.git``, ``.htpasswd`` and anything outside the
root can never be named by a URL, whatever its encoding: request paths are only ever dictionary keys.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path

from mirror import build
from mirror.errors import ServeError

log = logging.getLogger(__name__)

MEMORY_FILE_LIMIT = 1 << 20  # files up to this size are held in memory ...
MEMORY_TOTAL_LIMIT = 128 << 20  # ... until this many bytes are held; the rest is sent from disk
PAGE_CSP = ("default-src 'none'; img-src 'self' data:; style-src 'self'; font-src 'self'; media-src 'self'; "
            "base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
ASSET_CSP = "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; sandbox"
NEVER_IN_CSP = ("upgrade-insecure-requests", "block-all-mixed-content")
FIXED_HEADERS = (
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "no-referrer"),
    ("X-Frame-Options", "DENY"),
    ("Cross-Origin-Resource-Policy", "same-origin"),
)
CODING_NAMES = {"br": "br", "gz": "gzip"}
PLAIN_404 = b"Not found.\n"


@dataclass
class Variant:
    """One representation of a file: identity, gzip or br."""

    coding: str  # "identity", "gzip" or "br"
    etag: bytes
    size: int
    body: bytes | memoryview | None  # None: sent from ``path`` on disk
    path: str
    headers: bytes = b""  # every header line of a 200 except Content-Length, each ending in CRLF
    wire: bytes = b""  # the whole 200 response (keep-alive), when the body is in memory
    head_len: int = 0  # where the body starts in ``wire``


@dataclass
class Resource:
    rel: str
    ctype: str
    variants: dict[str, Variant]
    codings: tuple[str, ...]  # in preference order, ending with "identity"
    common: bytes = b""  # the headers every response about it carries (304s too), CRLF-terminated
    common_pairs: tuple[tuple[str, str], ...] = ()  # the same as (name, value) pairs


@dataclass
class Catalog:
    root: Path
    routes: dict[str, Resource] = field(default_factory=dict)
    redirects: dict[str, str] = field(default_factory=dict)  # "/dir" -> "/dir/"
    not_found: Resource | None = None
    from_manifest: bool = True


def load(root: Path) -> Catalog:
    """Load the build at ``root``: every servable file, its variants and its header blocks."""
    root = Path(root)
    if not root.is_dir():
        raise ServeError(f"{root} is not a directory; give the build directory to serve (e.g. build/site).")
    real_root = os.path.realpath(root)
    entries = read_manifest(root)
    catalog = Catalog(Path(real_root), from_manifest=entries is not None)
    if entries is None:
        entries = scan(Path(real_root))
        log.warning("%s has no .mirror/manifest.json: hashed %d file(s) at start; no precompressed "
                    "variants and a default CSP (build it with mirror to get the page's own policy).",
                    root, len(entries))
    budget = [MEMORY_TOTAL_LIMIT]
    for rel, meta in sorted(entries.items()):
        resource = load_resource(real_root, rel, meta, budget)
        if resource is not None:
            add_routes(catalog, rel, resource)
    catalog.not_found = catalog.routes.get("/404.html") or plain_not_found()
    log.info("serving %d file(s) from %s", len({id(r) for r in catalog.routes.values()}), root)
    return catalog


def read_manifest(root: Path) -> dict[str, dict] | None:
    path = root / build.MANIFEST
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as e:
        raise ServeError(f"could not read {path} ({e}); rebuild the directory with mirror build.") from e
    try:
        files = json.loads(text)["files"]
        if not isinstance(files, dict):
            raise TypeError("'files' is not an object")
    except (ValueError, KeyError, TypeError) as e:
        raise ServeError(f"{path} is not a mirror manifest ({e}); rebuild the directory with mirror build.") \
            from e
    return files


def scan(root: Path) -> dict[str, dict]:
    """Manifest entries computed from the files themselves (dot entries and symlinks skipped)."""
    entries = {}
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if not d.startswith(".")]
        for name in filenames:
            if name.startswith("."):
                continue
            full = os.path.join(dirpath, name)
            rel = os.path.relpath(full, root).replace(os.sep, "/")
            entries[rel] = {"type": build.content_type(rel)}
    return entries


def servable(rel: str) -> bool:
    parts = rel.split("/")
    return all(part and not part.startswith(".") and "\\" not in part and "\0" not in part for part in parts)


def load_resource(real_root: str, rel: str, meta: dict, budget: list[int]) -> Resource | None:
    if not isinstance(meta, dict) or not servable(rel):
        log.warning("not serving %r: a hidden or malformed path", rel)
        return None
    path = os.path.join(real_root, *rel.split("/"))
    if os.path.realpath(path) != path:
        log.warning("not serving %s: it is reached through a symlink", rel)
        return None
    try:
        st = os.lstat(path)
    except OSError:
        log.warning("not serving %s: listed in the manifest but missing", rel)
        return None
    if not stat.S_ISREG(st.st_mode):
        log.warning("not serving %s: not a regular file", rel)
        return None
    identity = read_variant(path, "identity", st.st_size, meta.get("sha256"), budget)
    variants = {"identity": identity}
    for short, coding in CODING_NAMES.items():
        if short in meta and identity.body is not None:
            packed = os.path.join(real_root, build.META_DIR, short, *f"{rel}.{short}".split("/"))
            variant = read_variant(packed, coding, None, None, budget, base=identity.etag)
            if variant is not None:
                variants[coding] = variant
    ctype = str(meta.get("type") or build.content_type(rel))
    codings = tuple(c for c in ("br", "gzip") if c in variants) + ("identity",)
    resource = Resource(rel, ctype, variants, codings)
    prepare_headers(resource, meta.get("csp"))
    return resource


def read_variant(path: str, coding: str, size: int | None, sha256: str | None, budget: list[int],
                 base: bytes | None = None) -> Variant | None:
    """Read (or, for a large file, only hash) one representation; None if a listed variant is missing."""
    try:
        st = os.lstat(path)
        if not stat.S_ISREG(st.st_mode):
            raise OSError("not a regular file")
        keep = st.st_size <= MEMORY_FILE_LIMIT and st.st_size <= budget[0]
        body, digest = _read(path, keep)
    except OSError as e:
        if coding == "identity":
            raise ServeError(f"could not read {path}: {e}.") from e
        log.warning("ignoring the %s variant %s: %s", coding, path, e)
        return None
    if sha256 and sha256 != digest:
        log.warning("%s changed since the manifest was written; serving it with its current hash", path)
    if body is not None:
        budget[0] -= len(body)
    tag = digest[:32].encode() if base is None else base.strip(b'"') + b"-" + coding.encode()
    return Variant(coding, b'"' + tag + b'"', st.st_size, body, path)


def _read(path: str, keep: bool) -> tuple[bytes | None, str]:
    digest = hashlib.sha256()
    chunks = []
    with open(path, "rb", opener=open_nofollow) as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
            if keep:
                chunks.append(chunk)
    return (b"".join(chunks) if keep else None), digest.hexdigest()


def open_nofollow(path: str, flags: int) -> int:
    """An ``opener`` that refuses a symlink as the last path component."""
    return os.open(path, flags | os.O_NOFOLLOW)


def csp_for(ctype: str, csp: str | None) -> str:
    """The policy header: the build's, never framed, and never upgrading requests (it breaks http onions)."""
    if not csp:
        return PAGE_CSP if ctype.startswith(("text/html", "application/xhtml")) else ASSET_CSP
    kept = [d.strip() for d in csp.split(";") if d.strip() and d.split()[0].lower() not in NEVER_IN_CSP]
    if not any(d.split()[0].lower() == "frame-ancestors" for d in kept):
        kept.append("frame-ancestors 'none'")
    return "; ".join(kept)


def cache_control(ctype: str) -> str:
    """Pages revalidate every time (cheap: 304 by ETag); other files may be reused for an hour."""
    return "no-cache" if ctype.startswith(("text/html", "application/xhtml")) else "max-age=3600"


def header_lines(pairs) -> bytes:
    text = "".join(f"{name}: {value}\r\n" for name, value in pairs)
    return text.encode("latin-1")


def prepare_headers(resource: Resource, csp: str | None) -> None:
    common = [("Cache-Control", cache_control(resource.ctype)),
              ("Content-Security-Policy", csp_for(resource.ctype, csp)), *FIXED_HEADERS]
    if len(resource.codings) > 1:
        common.append(("Vary", "Accept-Encoding"))
    resource.common_pairs = tuple(common)
    resource.common = header_lines(common)
    for variant in resource.variants.values():
        own = [("Content-Type", resource.ctype), ("ETag", variant.etag.decode())]
        if variant.coding != "identity":
            own.append(("Content-Encoding", variant.coding))
        else:
            own.append(("Accept-Ranges", "bytes"))
        variant.headers = header_lines(own) + resource.common
        if variant.body is not None:
            head = b"HTTP/1.1 200 OK\r\n" + variant.headers + b"Content-Length: %d\r\n\r\n" % variant.size
            variant.wire = head + variant.body
            variant.head_len = len(head)
            variant.body = memoryview(variant.wire)[len(head):]


def add_routes(catalog: Catalog, rel: str, resource: Resource) -> None:
    catalog.routes["/" + rel] = resource
    if rel == "index.html" or rel.endswith("/index.html"):
        directory = "/" + rel[: -len("index.html")]
        catalog.routes[directory] = resource
        if directory != "/":
            catalog.redirects[directory.rstrip("/")] = directory


def plain_not_found() -> Resource:
    """The built-in 404 page, for a build without a 404.html."""
    ctype = "text/plain; charset=utf-8"
    digest = hashlib.sha256(PLAIN_404).hexdigest()[:32].encode()
    variant = Variant("identity", b'"' + digest + b'"', len(PLAIN_404), PLAIN_404, "")
    resource = Resource("", ctype, {"identity": variant}, ("identity",))
    prepare_headers(resource, None)
    return resource
