"""Source -> build directory, written beside the target and swapped in only when complete and audited.

Owns: the build directory's layout and its manifest. Never renders (render.py), never judges safety
(audit.py) and never serves.

A build directory holds the site's files and one hidden folder of metadata that is never served::

    index.html ...                 the mirror
    .mirror/manifest.json          every file: sha256, size, content type (and the page's CSP)
    .mirror/gz/<path>.gz           precompressed variants, deterministic (gzip mtime 0, no name)
    .mirror/br/<path>.br
"""

from __future__ import annotations

import gzip
import hashlib
import json
import logging
import mimetypes
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import brotli

from mirror.errors import BuildError

log = logging.getLogger(__name__)

META_DIR = ".mirror"
MANIFEST = f"{META_DIR}/manifest.json"
COMPRESSIBLE = ("text/", "application/json", "application/xml", "image/svg+xml", "application/javascript")
MIN_COMPRESS = 256  # bytes; smaller files gain nothing from a variant
# Brotli quality 11 costs ~30x quality 9 for ~12% fewer bytes: worth it on small files, not on 5 MB specs.
BROTLI_MAX_QUALITY_UP_TO = 128 * 1024


@dataclass(frozen=True)
class BuildResult:
    out: Path
    files: tuple[str, ...]
    total_bytes: int


def build_site(site_dir: Path, out: Path) -> BuildResult:
    """Render ``site_dir`` (a site/ source) into ``out``."""
    from mirror import render

    documents = render.render_site(site_dir)
    files = {doc.path: doc.html.encode("utf-8") for doc in documents}
    csp = {doc.path: doc.csp for doc in documents}
    return write_build(out, files, csp)


def write_build(out: Path, files: dict[str, bytes], csp: dict[str, str] | None = None) -> BuildResult:
    """Write ``files`` (relative POSIX path -> bytes) as a complete build, audit it, and swap it in."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.new-", dir=out.parent))
    try:
        tmp.chmod(0o755)
        for rel, data in sorted(files.items()):
            _write_file(tmp / rel, data)
        write_metadata(tmp, files, csp or {})
        gate(tmp, label=f"the new build for {out} (not swapped in)")
        swap_in(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return BuildResult(out, tuple(sorted(files)), sum(len(d) for d in files.values()))


def write_metadata(root: Path, files: dict[str, bytes], csp: dict[str, str]) -> None:
    manifest = {"files": {}}
    for rel, data in sorted(files.items()):
        ctype = content_type(rel, data)
        entry = {"sha256": hashlib.sha256(data).hexdigest(), "size": len(data), "type": ctype}
        if rel in csp:
            entry["csp"] = csp[rel]
        entry.update(_write_variants(root, rel, data, ctype))
        manifest["files"][rel] = entry
    text = json.dumps(manifest, indent=1, sort_keys=True, ensure_ascii=False) + "\n"
    _write_file(root / MANIFEST, text.encode("utf-8"))


def _write_variants(root: Path, rel: str, data: bytes, ctype: str) -> dict:
    if len(data) < MIN_COMPRESS or not ctype.startswith(COMPRESSIBLE):
        return {}
    variants = {}
    for name, packed in (("gz", gzip.compress(data, compresslevel=9, mtime=0)),
                         ("br", brotli.compress(data, quality=11 if len(data) <= BROTLI_MAX_QUALITY_UP_TO
                                                else 9))):
        if len(packed) < len(data) * 0.9:
            _write_file(root / META_DIR / name / f"{rel}.{name}", packed)
            variants[name] = len(packed)
    return variants


def content_type(rel: str, data: bytes = b"<") -> str:
    """The type from the name; an extensionless page is HTML when it has a tag, else plain text."""
    guessed, _ = mimetypes.guess_type(rel, strict=False)
    if guessed is None and "." not in rel.rsplit("/", 1)[-1]:
        guessed = "text/html" if b"<" in data else "text/plain"
    ctype = guessed or "application/octet-stream"
    return f"{ctype}; charset=utf-8" if ctype.startswith("text/") else ctype


def gate(root: Path, label: str | None = None) -> None:
    """Refuse a build that fails the audit (the audit module is the judge); ``label`` names a temporary
    ``root`` the way the user knows it."""
    from mirror import audit

    audit.require_pass(root, label=label)


def swap_in(new: Path, out: Path) -> None:
    """Replace ``out`` with ``new``; on any failure the previous ``out`` stays in place."""
    if not out.exists():
        os.replace(new, out)
        return
    if not out.is_dir():
        raise BuildError(f"{out} exists and is not a directory; move it away or choose another --out.")
    old = Path(tempfile.mkdtemp(prefix=f".{out.name}.old-", dir=out.parent))
    os.replace(out, old / "previous")
    try:
        os.replace(new, out)
    except OSError as e:
        os.replace(old / "previous", out)
        raise BuildError(f"could not move the new build into {out}: {e.strerror}.") from e
    shutil.rmtree(old, ignore_errors=True)


def _write_file(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        with open(path, "wb") as f:
            f.write(data)
    except OSError as e:
        raise BuildError(f"could not write {path}: {e.strerror}.") from e
