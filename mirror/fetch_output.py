"""The crawl's output: the downloaded site as files, one folder per host, and its hand-off to the build.

Owns: the layout of ``<crawl folder>/site`` (written beside and swapped in whole, so it is never half
written) and the call into the sanitize stage. The layout is the contract with ``mirror build --from``::

    site/<host>/<path>           directory URLs end in index.html; extensionless names stay as they are
    site/.mirror/fetch.json      {"start", "files": {path: {"url", "type", "charset"}}, "redirects": {url: url}}
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
from pathlib import Path
from urllib.parse import urlsplit

from mirror import fetch_urls
from mirror.errors import FetchError
from mirror.fetch_state import State

log = logging.getLogger(__name__)

SITE = "site"
RECORD = ".mirror/fetch.json"


def write_site(state: State, out: Path, start: str) -> dict[str, str]:
    """Write every downloaded URL under ``out`` (built beside it, swapped in whole); return url -> path."""
    from mirror.build import swap_in

    rows = state.done()
    paths = place({url: fetch_urls.local_path(url) for url, *_ in rows})
    tmp = out.parent / f".{out.name}.new-{hashlib.sha256(start.encode()).hexdigest()[:8]}"
    shutil.rmtree(tmp, ignore_errors=True)
    files = {}
    for url, ctype, charset, _ in rows:
        if url not in paths:
            continue
        target = tmp / paths[url]
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(state.body(url))
        files[paths[url]] = {"url": url, "type": ctype, **({"charset": charset} if charset else {})}
    record = {"start": start, "files": files, "redirects": dict(state.redirects())}
    (tmp / RECORD).parent.mkdir(parents=True, exist_ok=True)
    (tmp / RECORD).write_text(json.dumps(record, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    swap_in(tmp, out)
    return paths


def place(paths: dict[str, str]) -> dict[str, str]:
    """Resolve a file that is also a folder (``/a`` and ``/a/b``): the file becomes ``a/index.html``."""
    taken = set(paths.values())
    folders = {p.rsplit("/", i)[0] for p in taken for i in range(1, p.count("/") + 1)}
    placed = {}
    for url, path in sorted(paths.items()):
        if any(part in ("", ".", "..") for part in path.split("/")):
            log.warning("%s: unsafe file name %s; left out", url, path)
            continue
        if path in folders:
            moved = f"{path}/{fetch_urls.INDEX}"
            if moved in taken:
                log.warning("%s: %s is both a file and a folder; left out", url, path)
                continue
            path = moved
        placed[url] = path
    return placed


def build_mirror(site: Path, start: str, out: Path):
    """Hand the downloaded site to the sanitize stage (``mirror build --from``), which writes the audited
    build directory; return its report. A crawl of one host is given as that host's folder and base URL
    (so a host such as ``127.0.0.1:8080`` works too); several hosts are given as folders side by side."""
    try:
        from mirror.site_import import build_from
    except ImportError as e:
        raise FetchError(f"the crawl is complete in {site}, but this version of mirror cannot build it "
                         "(the sanitize stage is missing); use --no-build to crawl only.") from e
    redirects = json.loads((Path(site) / RECORD).read_text(encoding="utf-8"))["redirects"]
    seen = {start}
    while redirects.get(start) and redirects[start] not in seen:  # the start URL moved: build from where it went
        start = redirects[start]
        seen.add(start)
    host = fetch_urls.host_of(start)
    hosts = sorted(p.name for p in Path(site).iterdir() if p.is_dir() and not p.name.startswith("."))
    if hosts == [host]:
        return build_from(Path(site) / host, out, base_url=f"{urlsplit(start).scheme}://{host}/")
    return build_from(Path(site), out, base_url=start)
