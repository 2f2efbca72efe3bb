"""Firefox ESR as an oracle for pages: opens each page in turn in one browser whose every request goes
through tests/logging_proxy.py, and says per page what left the test server, what was asked of it that
the build does not hold, and which dialog a script opened.

Stricter than Tor Browser where that can only show more: link prefetching on, lazy loading and the cache
off, so every hint and every image is fetched, every time.
"""

from __future__ import annotations

import contextlib
import re
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit

from selectolax.lexbor import LexborHTMLParser

from tests.corpus_fixtures import built_pages
from tests.firefox import Firefox, MarionetteError, firefox
from tests.logging_proxy import LoggingProxy, Request

STRICTER = {  # than Tor Browser: whatever the page could make a browser fetch, this one fetches
    "network.prefetch-next": True,
    "dom.image-lazy-loading.enabled": False,
    "dom.iframe_lazy_loading.enabled": False,
    "browser.cache.disk.enable": False,
    "browser.cache.memory.enable": False,
}
PAGE_LOAD = 10  # seconds a page may take to load (a page whose script hangs must not hang the test)
DIALOGS_IN_A_ROW = 20  # a page may open this many dialogs before the oracle gives up on it
SETTLE = 1.0  # seconds after the last page for what a browser fetches late (prefetches come at idle)
FAVICON = "/favicon.ico"  # Firefox asks the page's own server for it when a page names no icon
BEFORE = "(before the first page)"
CSP_META = re.compile(r'<meta http-equiv="Content-Security-Policy" content="[^"]*">')


@dataclass
class Reading:
    """What happened while pages of the server at ``base`` were open, page by page."""
    base: str
    requests: dict[str, list[Request]] = field(default_factory=lambda: {BEFORE: []})
    dialogs: dict[str, list[str]] = field(default_factory=dict)  # alert(), confirm()... a script opened
    stalled: dict[str, list[str]] = field(default_factory=dict)

    @staticmethod
    def note(where: dict[str, list[str]], page: str, what: str) -> None:
        where.setdefault(page, []).append(what)

    def findings(self, files: set[str]) -> dict:
        """Requests that left the test server, requests on it for no file in ``files``, script dialogs,
        pages that did not finish loading."""
        outside, missing = {}, {}
        for page, requests in self.requests.items():
            if away := [r.url for r in requests if not r.url.startswith(self.base)]:
                outside[page] = away
            if absent := [p for p in self._paths(requests) if p != FAVICON and _file_of(p) not in files]:
                missing[page] = absent
        return {"outside": outside, "not in the build": missing, "dialogs": self.dialogs,
                "stalled": self.stalled}

    def pages_fetched_as_subresources(self) -> dict:
        """Pages of the build that Firefox fetched as something else than a document (an image...)."""
        found = {}
        for page, requests in self.requests.items():
            if pages := [(r.url, r.dest) for r in requests if r.url.startswith(self.base)
                         and r.dest != "document" and _file_of(_path(r.url)).endswith(".html")]:
                found[page] = pages
        return found

    def _paths(self, requests: list[Request]) -> list[str]:
        return [_path(r.url) for r in requests if r.url.startswith(self.base)]


class Oracle:
    def __init__(self, ff: Firefox, proxy: LoggingProxy):
        self.ff, self.proxy = ff, proxy
        ff.command("WebDriver:SetTimeouts", {"pageLoad": PAGE_LOAD * 1000})

    def read(self, base: str, rels: list[str], javascript: bool = False) -> Reading:
        """Open every page in turn; each page's requests are the log from its own GET to the next page's."""
        self.ff.set_prefs({"javascript.enabled": javascript})
        self.proxy.allow(base)
        self.proxy.take()
        reading = Reading(base)
        for previous, rel in zip([BEFORE, *rels], rels):
            self._open(base + quote(rel), reading, previous, rel)
            if (text := self.ff.dialog()) is not None:
                reading.note(reading.dialogs, rel, text)
        time.sleep(SETTLE)
        current, pending = BEFORE, list(rels)
        for request in self.proxy.take():
            if pending and request.dest == "document" and request.url == base + quote(pending[0]):
                current = pending.pop(0)
                reading.requests[current] = []
            reading.requests[current].append(request)
        return reading

    def _open(self, url: str, reading: Reading, previous: str, rel: str) -> None:
        """Navigate. A dialog still open stops the navigation: it is the page before's doing (noted, then
        dismissed by Marionette); a page that does not finish loading is noted too."""
        for _ in range(DIALOGS_IN_A_ROW):
            try:
                return self.ff.navigate(url)
            except MarionetteError as e:
                if "unexpected alert open" in str(e):
                    reading.note(reading.dialogs, previous, e.data.get("text", "(a dialog)"))
                elif "timed out" in str(e):
                    return reading.note(reading.stalled, rel, f"did not finish loading within {PAGE_LOAD} s")
                else:
                    raise
        raise MarionetteError(f"{previous} opens dialog after dialog; {url} could not be opened")


@contextlib.contextmanager
def firefox_oracle():
    """One Firefox ESR with Safest preferences (and STRICTER), every request through a logging proxy."""
    with LoggingProxy() as proxy, firefox(prefs={**proxy.firefox_prefs(), **STRICTER}) as ff:
        yield Oracle(ff, proxy)


def _path(url: str) -> str:
    return unquote(urlsplit(url).path)


def _file_of(path: str) -> str:
    return path.lstrip("/") + ("index.html" if path.endswith("/") else "")


def files_of(out: Path) -> set[str]:
    return {p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file() and ".mirror" not in p.parts}


def pages_of(out: Path) -> list[str]:
    return [p.relative_to(out).as_posix() for p in built_pages(out)]


def without_csp(out: Path, dest: Path) -> Path:
    """A copy of the build with each page's CSP <meta> taken out (to be served without a CSP header).

    No page may hold a <noscript> (the sanitizer unwraps them), so reading it with JavaScript on loads
    everything it loads with JavaScript off, and runs whatever script survived besides."""
    shutil.copytree(out, dest, ignore=shutil.ignore_patterns(".mirror"))
    for page in built_pages(dest):
        html, count = CSP_META.subn("", page.read_text("utf-8"), count=1)
        assert count == 1, f"{page}: no CSP <meta> to take out"
        has_noscript = LexborHTMLParser(html).css_first("noscript") is not None
        assert not has_noscript, f"{page}: a <noscript>; read the pages with JavaScript off too"
        page.write_text(html, "utf-8")
    return dest
