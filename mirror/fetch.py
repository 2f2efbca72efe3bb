"""``mirror fetch URL``: crawl a live site into a folder, politely and resumably, then hand it to the build.

Owns: the crawl loop and its options. Pages go depth by depth (breadth first): a depth's pages are admitted
together, in sorted order, through robots.txt, scope, trap shapes, the depth/page caps and the per-pattern
trap cap, so caps cut the same way whatever the timing; assets (stylesheets, images, fonts) are admitted as
soon as they are found, so the connections stay busy across depths. Worker threads download and parse
(mirror/fetch_http.py, mirror/fetch_parse.py: one requests.Session, at most 4 connections per host); this
thread alone writes the state (mirror/fetch_state.py), one transaction per URL, so a SIGKILL at any moment
loses at most the downloads in flight. At the end the site is written out atomically (mirror/fetch_output.py)::

    <folder>/state.sqlite                 the resumable state (bodies included)
    <folder>/site/<host>/<path>           one folder per host; directory URLs end in index.html
    <folder>/site/.mirror/fetch.json      start URL, every file's URL, type and charset, the redirects

Library code: reports progress through a callback, never prints.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import logging
import re
import shutil
import sqlite3
import time
from collections import deque
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable
from urllib.parse import urljoin, urlsplit

from mirror import fetch_parse, fetch_urls
from mirror.errors import FetchError
from mirror.fetch_output import RECORD, SITE, build_mirror, place, write_site  # noqa: F401 - the API
from mirror.fetch_http import USER_AGENT, Answer, Client, Limits, crawl_delay, robots_rules, session
from mirror.fetch_report import Progress, Report, build_report
from mirror.fetch_state import State

log = logging.getLogger(__name__)

STATE = "state.sqlite"
TEXT_TYPES = ("text/", "application/xhtml+xml", "application/xml", "image/svg+xml", "application/json")


@dataclass(frozen=True)
class Options:
    workers: int = 4
    max_depth: int | None = None
    max_pages: int | None = None
    max_bytes: int | None = None
    max_per_pattern: int = 100
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    assets_from: tuple[str, ...] = ()
    robots: bool = True
    proxy: str | None = None
    limits: Limits = field(default_factory=Limits)
    connect_to: dict[str, str] | None = None  # host -> "addr:port" over plain HTTP (tests, staging copies)


@dataclass(frozen=True)
class Result:
    url: str
    kind: str
    answer: Answer
    mime: str = ""
    charset: str | None = None
    note: str | None = None
    pages: tuple[str, ...] = ()
    assets: tuple[str, ...] = ()
    skipped: str | None = None


def crawl(start: str, folder: Path, options: Options = Options(),
          progress: Callable[[Progress], None] | None = None) -> Report:
    """Crawl from ``start`` into ``folder`` (resuming what is there); return the report of the whole crawl."""
    started = time.monotonic()
    try:
        start = fetch_urls.canonical(start)
    except fetch_urls.BadURL as e:
        raise FetchError(f"{e}: give the site's address, such as https://example.org/.") from e
    folder = Path(folder)
    with _only_crawl_in(folder):
        try:
            crawler = Crawler(start, folder, options, progress)
            try:
                crawler.run()
                write_site(crawler.state, folder / SITE, start)
                report = build_report(crawler.state, start, time.monotonic() - started)
            finally:
                crawler.close()
        except sqlite3.DatabaseError as e:
            raise FetchError(f"{folder / STATE} cannot be used ({e}); free some space, or start anew "
                             "with --restart.") from e
    if not report.pages + report.assets:
        raise FetchError(f"nothing could be downloaded from {start}: {report.reason(start) or 'no answer'}.")
    return report


@contextlib.contextmanager
def _only_crawl_in(folder: Path):
    """Create ``folder`` and hold its lock: two crawls never share a folder."""
    _prepare(folder)
    with open(folder / ".lock", "a+b") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as e:
            raise FetchError(f"another `mirror fetch` is crawling into {folder}; wait for it or use another "
                             "--dir.") from e
        yield


def _prepare(folder: Path) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise FetchError(f"cannot create the crawl folder {folder}: {e.strerror}; choose another --dir.") from e
    for stale in folder.glob(f".{SITE}.*"):  # a site write killed half-way; the state can redo it
        shutil.rmtree(stale, ignore_errors=True)


def scope_for(start: str, options: Options) -> fetch_urls.Scope:
    try:
        include = tuple(re.compile(p) for p in options.include)
        exclude = tuple(re.compile(p) for p in options.exclude)
    except re.error as e:
        raise FetchError(f"--include/--exclude pattern {e.pattern!r} is not a valid regex: {e}.") from e
    assets = frozenset(h.lower() for h in options.assets_from)
    return fetch_urls.Scope(frozenset({fetch_urls.host_of(start)}), assets, include, exclude,
                            urlsplit(start).scheme)


class Crawler:
    def __init__(self, start: str, folder: Path, options: Options, progress):
        self.start, self.options, self.progress = start, options, progress
        self.scope = scope_for(start, options)
        self.state = State(folder / STATE)
        recorded = self.state.meta("start")
        if recorded and recorded != start:
            self.state.close()
            raise FetchError(f"{folder} holds the crawl of {recorded}; use another --dir for {start} "
                             "(or --restart to forget that crawl).")
        self.client = Client(session(options.proxy, options.connect_to), options.limits, options.workers)
        self.in_flight = max(2, options.workers * 2)
        self.robots: dict[str, object] = {}
        self.last_progress = 0.0
        self.start_chain = {start}
        url = start
        while (target := self.state.redirect_target(url)) and target not in self.start_chain:
            self._follow_start(target)  # a resumed crawl whose start URL had moved
            url = target

    def close(self) -> None:
        self.client.http.close()
        self.state.close()

    def run(self) -> None:
        """Pages go depth by depth (a depth is admitted when no page of the previous one is left);
        assets are admitted as soon as they are found, so connections stay busy across depths."""
        with self.state:
            self.state.set_meta("start", self.start)
            self.state.found(self.start, 0, "page", fetch_urls.pattern(self.start), None)
        self.todo = {"page": deque(), "asset": deque()}
        self.running: dict[Future, str] = {}
        self._admit_now([(url, "asset", depth) for url, depth in self.state.waiting_assets()])
        with ThreadPoolExecutor(self.options.workers, thread_name_prefix="fetch") as pool:
            try:
                while True:
                    if not self.todo["page"] and "page" not in self.running.values():
                        self._next_depth()
                    if not (self.todo["page"] or self.todo["asset"] or self.running):
                        return
                    self._submit(pool)
                    self._collect()
            except BaseException:  # Ctrl-C or an error: what is stored stays, nothing new starts
                pool.shutdown(wait=False, cancel_futures=True)
                raise

    def _next_depth(self) -> None:
        depth = self.state.next_depth()
        if depth is None:
            return
        waiting = self.state.waiting(depth)
        for url, _ in waiting:
            self._load_robots(url)
        with self.state:
            self.todo["page"].extend(url for url, pattern in waiting
                                     if self._admit(url, "page", pattern, depth))

    def _submit(self, pool: ThreadPoolExecutor) -> None:
        while len(self.running) < self.in_flight and (self.todo["page"] or self.todo["asset"]):
            kind = "page" if self.todo["page"] else "asset"
            url = self.todo[kind].popleft()
            if not self._over_bytes(url):
                self.running[pool.submit(self._work, url, kind)] = kind

    def _collect(self) -> None:
        if not self.running:
            return
        finished, _ = wait(self.running, return_when=FIRST_COMPLETED)
        for future in finished:
            del self.running[future]
            self._admit_now(self._record(future.result()))
        self._report_progress()

    def _load_robots(self, url: str) -> None:
        """Fetch (once per crawl, kept in the state) the robots.txt of ``url``'s origin, if in scope."""
        parts = urlsplit(url)
        origin = f"{parts.scheme}://{parts.netloc}"
        if not self.options.robots or origin in self.robots or self.scope.refusal(url, "asset"):
            return
        kept = self.state.meta(f"robots {origin}")
        if kept is None:
            answer = self.client.get(f"{origin}/robots.txt", parts.netloc)
            ok = answer.status == 200 and not (answer.error or answer.skipped)
            kept = json.dumps([200 if ok else (0 if answer.status == 200 else answer.status),
                               answer.body.decode("utf-8", "replace") if ok else ""])
            with self.state:
                self.state.set_meta(f"robots {origin}", kept)
                self.state.add("requests", self.client.take_requests())
        status, text = json.loads(kept)
        self.robots[origin] = rules = robots_rules(origin, status, text)
        rules.status = status
        self.client.gate.slow_down(parts.netloc, crawl_delay(rules))

    def _robots_refusal(self, url: str) -> str | None:
        parts = urlsplit(url)
        rules = self.robots.get(f"{parts.scheme}://{parts.netloc}")
        if not self.options.robots or rules is None or rules.can_fetch(USER_AGENT, url):
            return None
        if rules.disallow_all and rules.status != 200:
            why = f"HTTP {rules.status}" if rules.status else "no answer"
            return f"robots.txt unreachable ({why}): keeping out, as RFC 9309 asks"
        return "disallowed by robots.txt"

    def _admit(self, url: str, kind: str, pattern: str, depth: int) -> bool:
        """Queue ``url`` or mark it skipped with the reason (inside the caller's transaction)."""
        reason = self._refusal(url, kind, pattern, depth)
        if reason:
            self.state.finish(url, "skipped", reason)
            return False
        self.state.admit(url)
        return True

    def _refusal(self, url: str, kind: str, pattern: str, depth: int) -> str | None:
        o = self.options
        robots = self._robots_refusal(url)
        if robots:
            return robots
        if url in self.start_chain:  # the start page is fetched whatever --include and the caps say
            return None
        reason = self.scope.refusal(url, kind) or fetch_urls.trap_reason(url)
        if reason:
            return reason
        if kind == "page" and o.max_depth is not None and depth > o.max_depth:
            return "beyond --max-depth"
        if kind == "page" and o.max_pages is not None and self.state.admitted(kind="page") >= o.max_pages:
            return "--max-pages reached"
        trap_prone = kind == "page" or "?" in url
        if trap_prone and self.state.admitted(pattern=pattern) >= o.max_per_pattern:
            return f"crawl trap (over {o.max_per_pattern} URLs like {pattern})"
        return None

    def _over_bytes(self, url: str) -> bool:
        limit = self.options.max_bytes
        if limit is None or self.state.counter("bytes") < limit:
            return False
        with self.state:
            self.state.finish(url, "skipped", "--max-bytes reached")
        return True

    # -- in worker threads --------------------------------------------------------------------------
    def _work(self, url: str, kind: str) -> Result:
        answer = self.client.get(url, urlsplit(url).netloc)
        if answer.location is not None or answer.error or answer.skipped:
            return Result(url, kind, answer)
        mime = fetch_parse.mime_of(answer.content_type) or fetch_parse.sniff(answer.body)
        charset = note = None
        if mime.startswith(TEXT_TYPES):
            charset, note = fetch_parse.decide_charset(answer.body,
                                                       fetch_parse.header_charset(answer.content_type))
        links = fetch_parse.page_links(answer.body, mime, charset, url)
        return Result(url, kind, answer, mime, charset, note,
                      tuple(sorted(self._clean(links.pages))), tuple(sorted(self._clean(links.assets))))

    def _clean(self, urls: set[str]) -> set[str]:
        clean = set()
        for url in urls:
            try:
                clean.add(self.scope.upgrade(fetch_urls.canonical(url)))
            except fetch_urls.BadURL:
                continue
        return clean

    # -- back in the coordinating thread ------------------------------------------------------------
    def _admit_now(self, found: list[tuple[str, str, int]]) -> None:
        """Admit at once new assets and redirect targets (at the depth of the URL that redirected)."""
        for url, _, _ in found:
            self._load_robots(url)
        with self.state:
            for url, kind, depth in found:
                if self._admit(url, kind, fetch_urls.pattern(url), depth):
                    self.todo[kind].append(url)

    def _record(self, result: Result) -> list[tuple[str, str, int]]:
        """Store one result in one transaction; return what to admit at once (new assets, redirect targets)."""
        answer, url = result.answer, result.url
        with self.state:
            self.state.add("requests", self.client.take_requests())
            if result.skipped or answer.skipped:
                self.state.finish(url, "skipped", result.skipped or answer.skipped, status=answer.status)
            elif answer.location is not None:
                return self._redirect(result)
            elif answer.error:
                self.state.finish(url, "error", answer.error, status=answer.status)
            else:
                return self._store(result)
        return []

    def _store(self, result: Result) -> list[tuple[str, str, int]]:
        body, url = result.answer.body, result.url
        self.state.store(url, body)
        self.state.add("bytes", len(body))
        self.state.finish(url, "done", status=200,
                          type=result.answer.content_type or result.mime or "application/octet-stream",
                          charset=result.charset, size=len(body),
                          note="; ".join(n for n in (result.answer.note, result.note) if n) or None,
                          sha256=hashlib.sha256(body).hexdigest())
        depth = self.state.row(url)[0] + 1
        for link in result.pages if result.kind == "page" else ():
            self.state.found(link, depth, "page", fetch_urls.pattern(link), url)
        return [(link, "asset", depth) for link in result.assets
                if self.state.found(link, depth, "asset", fetch_urls.pattern(link), url)]

    def _redirect(self, result: Result) -> list[tuple[str, str, int]]:
        url, location = result.url, result.answer.location
        try:
            target = fetch_urls.canonical(urljoin(url, location))
        except fetch_urls.BadURL:
            self.state.finish(url, "error", f"redirect to an unusable address {location!r}")
            return []
        if url in self.start_chain:
            self._follow_start(target)
        target = self.scope.upgrade(target)
        refusal = self.scope.refusal(target, result.kind)
        if refusal:
            self.state.finish(url, "skipped", f"redirect {refusal} to {target}")
            return []
        if target == url:
            self.state.finish(url, "error", "redirect to itself")
            return []
        self.state.finish(url, "redirect", target, status=result.answer.status)
        depth, _, _ = self.state.row(url)
        self.state.found(target, depth, result.kind, fetch_urls.pattern(target), url)
        return [(target, result.kind, depth)] if self.state.row(target)[2] == "found" else []

    def _follow_start(self, target: str) -> None:
        """The start URL moved (http -> https, example.org -> www.example.org): the site is where it went."""
        parts = urlsplit(target)
        self.start_chain.add(target)
        self.scope = replace(self.scope, hosts=self.scope.hosts | {parts.netloc}, scheme=parts.scheme)

    def _report_progress(self) -> None:
        now = time.monotonic()
        if self.progress and (now - self.last_progress >= 0.2 or not self.running):
            self.last_progress = now
            self.progress(Progress(self.state.count("done"), self.state.count("queued", "found"),
                                   self.state.counter("bytes"), self.state.count("error")))
