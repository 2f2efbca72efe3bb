"""HTTP for the crawl: one requests.Session, per-host gates, retries, caps and robots.txt.

Owns: talking to servers. The session looks like Tor Browser (its User-Agent and Accept headers), keeps
no cookie, sends no Referer, follows no redirect by itself (the crawl decides whether a Location is in
scope), and can go through a SOCKS proxy with DNS resolved by the proxy (``socks5h``). A ``HostGate``
bounds the connections per host, spaces requests (``--rate``, Crawl-delay) and pauses a host that
answered ``Retry-After``. Never writes files, never decides scope.
"""

from __future__ import annotations

import http.cookiejar
import logging
import threading
import time
import urllib.robotparser
from dataclasses import dataclass, replace

import requests
import urllib3
from requests.adapters import HTTPAdapter

log = logging.getLogger(__name__)

USER_AGENT = "Mozilla/5.0 (Windows NT 10.0; rv:140.0) Gecko/20100101 Firefox/140.0"
HEADERS = {
    "User-Agent": USER_AGENT,
    "Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
    "Accept-Language": "en-US,en;q=0.5",
    "Accept-Encoding": "gzip, deflate, br",
    "Upgrade-Insecure-Requests": "1",
}
REDIRECTS = (301, 302, 303, 307, 308)
RETRY_STATUSES = (429, 500, 502, 503, 504)
MAX_PER_HOST = 4
CHUNK = 65536


@dataclass(frozen=True)
class Limits:
    connect_timeout: float = 10.0
    read_timeout: float = 30.0
    max_time: float = 120.0          # whole response, against servers that trickle forever
    max_size: int = 50 * 2**20       # bytes of one response, decoded
    retries: int = 3
    backoff: float = 0.5             # seconds, doubled at each retry
    max_retry_after: float = 120.0   # a longer Retry-After is an error, not a wait
    rate: float = 0.0                # requests per second per host; 0 = no spacing


@dataclass(frozen=True)
class Answer:
    """What one URL gave: a body, a redirect, or an error/skip with its reason."""

    status: int = 0
    content_type: str = ""
    body: bytes = b""
    location: str | None = None
    retry_after: str | None = None
    error: str | None = None
    skipped: str | None = None
    note: str | None = None  # a success worth a line in the report (retried, waited)
    requests: int = 0


class NoCookies(http.cookiejar.DefaultCookiePolicy):
    def set_ok(self, cookie, request) -> bool:
        return False


class ConnectTo(HTTPAdapter):
    """Send requests for some host names to another plain-HTTP address, keeping the Host header.

    For tests and staging copies: ``{"whatwg.org": "127.0.0.1:8080"}`` fetches https://whatwg.org/x
    as http://127.0.0.1:8080/x with ``Host: whatwg.org``.
    """

    def __init__(self, mapping: dict[str, str], **kwargs):
        super().__init__(**kwargs)
        self.mapping = mapping

    def send(self, request, *args, **kwargs):
        host = request.url.split("/", 3)[2]
        if host in self.mapping:
            rest = request.url.split("/", 3)[3] if request.url.count("/") >= 3 else ""
            request.headers["Host"] = host
            request.url = f"http://{self.mapping[host]}/{rest}"
        return super().send(request, *args, **kwargs)


def session(proxy: str | None = None, connect_to: dict[str, str] | None = None) -> requests.Session:
    """A session that looks like Tor Browser, keeps no cookie and, with ``proxy``, resolves names there."""
    s = requests.Session()
    s.headers.clear()
    s.headers.update(HEADERS)
    s.cookies.set_policy(NoCookies())
    s.trust_env = False
    adapter_kwargs = {"pool_connections": 16, "pool_maxsize": MAX_PER_HOST, "max_retries": 0}
    adapter = ConnectTo(connect_to, **adapter_kwargs) if connect_to else HTTPAdapter(**adapter_kwargs)
    s.mount("http://", adapter)
    s.mount("https://", adapter)
    if proxy:
        s.proxies = {"http": proxy, "https": proxy}
    return s


class HostGate:
    """At most ``connections`` requests at a time per host, spaced by ``interval``, paused on Retry-After."""

    def __init__(self, connections: int, interval: float):
        self.connections = max(1, min(connections, MAX_PER_HOST))
        self.interval = interval
        self.lock = threading.Lock()
        self.slots: dict[str, threading.Semaphore] = {}
        self.next_start: dict[str, float] = {}
        self.extra: dict[str, float] = {}

    def slow_down(self, host: str, interval: float) -> None:
        """A host-specific minimum interval (robots.txt Crawl-delay)."""
        with self.lock:
            self.extra[host] = max(self.extra.get(host, 0.0), interval)

    def pause(self, host: str, seconds: float) -> None:
        with self.lock:
            self.next_start[host] = max(self.next_start.get(host, 0.0), time.monotonic() + seconds)

    def enter(self, host: str) -> None:
        with self.lock:
            slot = self.slots.setdefault(host, threading.Semaphore(self.connections))
        slot.acquire()
        while True:
            with self.lock:
                now = time.monotonic()
                start = self.next_start.get(host, 0.0)
                if start <= now:
                    self.next_start[host] = now + max(self.interval, self.extra.get(host, 0.0))
                    return
            time.sleep(min(start - now, 1.0))

    def leave(self, host: str) -> None:
        self.slots[host].release()


class Client:
    """Fetches one URL at a time per call (thread-safe): gate, retries with backoff, size and time caps."""

    def __init__(self, http: requests.Session, limits: Limits, workers: int):
        self.http = http
        self.limits = limits
        self.gate = HostGate(workers, 1.0 / limits.rate if limits.rate else 0.0)
        self.count_lock = threading.Lock()
        self.requests = 0

    def take_requests(self) -> int:
        """Requests made since the last call (the crawl adds them to its persistent counter)."""
        with self.count_lock:
            made, self.requests = self.requests, 0
        return made

    def get(self, url: str, host: str) -> Answer:
        """GET ``url`` (whose netloc is ``host``), retrying timeouts, 5xx and 429 with backoff."""
        made, last, wait, problem = 0, Answer(error="not tried"), None, None
        for attempt in range(self.limits.retries + 1):
            if attempt:
                time.sleep(self.limits.backoff * 2 ** (attempt - 1))
            self.gate.enter(host)
            try:
                made += 1
                with self.count_lock:
                    self.requests += 1
                last = self._once(url)
            finally:
                self.gate.leave(host)
            wait = self._retry_after(last, host)
            if wait is None:
                break
            problem = problem or (f"{last.error}, Retry-After {last.retry_after}" if last.retry_after
                                  else last.error)
        return self._final(last, made, wait, problem)

    def _final(self, last: Answer, made: int, wait: float | None, problem: str | None) -> Answer:
        if last.retry_after is not None and last.status in RETRY_STATUSES and wait is None:
            error = f"HTTP {last.status}, Retry-After {last.retry_after} is over {self.limits.max_retry_after:g} s"
            return replace(last, requests=made, error=error)
        if last.error and made > 1:
            return replace(last, requests=made, error=f"{last.error}, {made} attempts")
        if problem and not last.error:
            return replace(last, requests=made, note=f"fetched at attempt {made} (first: {problem})")
        return replace(last, requests=made)

    def _retry_after(self, answer: Answer, host: str) -> float | None:
        """Seconds to pause the host before retrying, or None when the answer is final."""
        if answer.error and answer.error.startswith(("timeout", "connection")):
            return 0.0
        if answer.status not in RETRY_STATUSES:
            return None
        if answer.retry_after is None:
            return 0.0
        seconds = _seconds(answer.retry_after)
        if seconds is None or seconds > self.limits.max_retry_after:
            return None
        self.gate.pause(host, seconds)
        return seconds

    def _once(self, url: str) -> Answer:
        limits = self.limits
        try:
            response = self.http.get(url, stream=True, allow_redirects=False,
                                     timeout=(limits.connect_timeout, limits.read_timeout))
        except requests.Timeout:
            return Answer(error="timeout (connect or first byte)")
        except requests.RequestException as e:
            return Answer(error=f"connection failed ({type(e).__name__})")
        with response:
            ctype = response.headers.get("Content-Type", "")
            if response.status_code != 200:
                _drain(response)
            if response.status_code in REDIRECTS:
                return Answer(response.status_code, ctype, location=response.headers.get("Location"))
            if response.status_code in RETRY_STATUSES:
                return Answer(response.status_code, ctype, retry_after=response.headers.get("Retry-After"),
                              error=f"HTTP {response.status_code}")
            if response.status_code != 200:
                return Answer(response.status_code, ctype, error=f"HTTP {response.status_code}")
            return self._read(response, ctype)

    def _read(self, response: requests.Response, ctype: str) -> Answer:
        """The body, read as it comes (read1: never waiting for a full chunk), under the size and time caps."""
        limits = self.limits
        declared = response.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > limits.max_size:
            return Answer(200, ctype, skipped=f"too large ({int(declared):,} bytes > --max-size)")
        deadline = time.monotonic() + limits.max_time
        chunks, size = [], 0
        try:
            while chunk := response.raw.read1(CHUNK, decode_content=True):
                chunks.append(chunk)
                size += len(chunk)
                if size > limits.max_size:
                    return Answer(200, ctype, skipped=f"too large (over {limits.max_size:,} bytes, --max-size)")
                if time.monotonic() > deadline:
                    return Answer(200, ctype, error=f"timeout (still sending after {limits.max_time:g} s)")
        except (urllib3.exceptions.ReadTimeoutError, TimeoutError):
            return Answer(200, ctype, error="timeout (stalled while sending)")
        except (urllib3.exceptions.HTTPError, OSError) as e:
            return Answer(200, ctype, error=f"connection failed while reading ({type(e).__name__})")
        return Answer(200, ctype, b"".join(chunks))


def robots_rules(origin: str, status: int, text: str) -> urllib.robotparser.RobotFileParser:
    """The rules of ``origin`` from its /robots.txt answer. RFC 9309: 4xx means none, 5xx or no answer
    means keep out."""
    parser = urllib.robotparser.RobotFileParser(f"{origin}/robots.txt")
    if status == 200:
        parser.parse(text.splitlines())
    elif 400 <= status < 500:
        parser.allow_all = True
    else:
        log.warning("robots.txt of %s unreachable (status %s): not crawling it", origin, status or "none")
        parser.disallow_all = True
    return parser


def crawl_delay(parser: urllib.robotparser.RobotFileParser) -> float:
    return min(float(parser.crawl_delay(USER_AGENT) or 0.0), 30.0)


def _drain(response: requests.Response, most: int = 2**20) -> None:
    """Read a small unwanted body so the connection goes back to the pool instead of being closed."""
    length = response.headers.get("Content-Length", "")
    if length.isdigit() and int(length) <= most:
        try:
            response.raw.drain_conn()
        except Exception:  # noqa: BLE001 - a failed drain only costs a new connection
            pass


def _seconds(value: str) -> float | None:
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        from email.utils import parsedate_to_datetime
        return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError, IndexError):
        return None
