"""URLs of a crawl: canonical form, scope, crawl-trap patterns, and where each URL is stored on disk.

Owns: the pure URL decisions of ``mirror fetch`` (no I/O). Canonicalisation makes one URL of the many
spellings a site or a trap produces: lower-case scheme and host, no default port, dot segments resolved,
percent-encoding normalised, no fragment, tracking parameters and session ids dropped, query sorted.
"""

from __future__ import annotations

import hashlib
import posixpath
import re
from dataclasses import dataclass
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit, urlunsplit

SCHEMES = ("http", "https")
DEFAULT_PORTS = {"http": 80, "https": 443}
TRACKING_PREFIXES = ("utm_", "pk_", "mtm_", "hsa_", "_hs")
TRACKING_PARAMS = frozenset({
    "fbclid", "gclid", "dclid", "gbraid", "wbraid", "msclkid", "yclid", "twclid", "igshid", "mc_cid",
    "mc_eid", "_ga", "_gl", "ref_src", "oly_anon_id", "oly_enc_id", "vero_id", "mkt_tok", "trk", "si"})
SESSION_PARAMS = frozenset({
    "phpsessid", "jsessionid", "sid", "sessionid", "session_id", "session", "sessid", "cfid", "cftoken",
    "aspsessionid", "zenid", "osCsid".lower(), "s_id"})
_PATH_SESSION = re.compile(r";(jsessionid|phpsessid|sid)=[^/?#]*", re.I)
_DIGITS = re.compile(r"\d+")
_UNRESERVED = re.compile(r"%([0-9A-Fa-f]{2})")
MAX_URL = 2000
MAX_SEGMENTS = 24
MAX_REPEATS = 3
INDEX = "index.html"


class BadURL(ValueError):
    """Not an http(s) URL this crawler can fetch."""


def canonical(url: str) -> str:
    """The one spelling of ``url`` the crawl keys on; raises BadURL for what it cannot fetch."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError as e:
        raise BadURL(f"{url!r} is not a valid URL") from e
    scheme = parts.scheme.lower()
    if scheme not in SCHEMES or not parts.hostname:
        raise BadURL(f"{url!r} is not an http(s) URL")
    host = parts.hostname.rstrip(".").lower()
    netloc = host if port in (None, DEFAULT_PORTS[scheme]) else f"{host}:{port}"
    if ":" in host:
        netloc = f"[{host}]" if port in (None, DEFAULT_PORTS[scheme]) else f"[{host}]:{port}"
    path = _normalise_escapes(_PATH_SESSION.sub("", parts.path) or "/")
    path = posixpath.normpath(path) + ("/" if path.endswith("/") and path != "/" else "")
    path = "/" + path.lstrip("/") if path != "//" else "/"
    return urlunsplit((scheme, netloc, path, _clean_query(parts.query), ""))


def _normalise_escapes(path: str) -> str:
    """Decode escapes of unreserved characters, upper-case the others, escape what must be."""
    def one(match: re.Match) -> str:
        char = chr(int(match.group(1), 16))
        return char if (char.isalnum() and char.isascii()) or char in "-._~" else f"%{match.group(1).upper()}"
    return quote(_UNRESERVED.sub(one, path), safe="/%:@!$&'()*+,;=-._~")


def _clean_query(query: str) -> str:
    pairs = [(k, v) for k, v in parse_qsl(query, keep_blank_values=True) if not dropped_param(k)]
    return urlencode(sorted(pairs), doseq=True)


def dropped_param(name: str) -> bool:
    lowered = name.lower()
    return lowered in TRACKING_PARAMS or lowered in SESSION_PARAMS or lowered.startswith(TRACKING_PREFIXES)


def host_of(url: str) -> str:
    """The netloc of a canonical URL (host, with the port when not the default)."""
    return urlsplit(url).netloc


def with_scheme(url: str, scheme: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((scheme, parts.netloc, parts.path, parts.query, ""))


def pattern(url: str) -> str:
    """The shape of a URL for trap caps: digits folded, query values dropped (``/cal/N/N?month=``)."""
    parts = urlsplit(url)
    keys = sorted({k for k, _ in parse_qsl(parts.query, keep_blank_values=True)})
    shape = _DIGITS.sub("N", parts.path)
    return f"{parts.netloc}{shape}" + (("?" + "&".join(f"{k}=" for k in keys)) if keys else "")


def trap_reason(url: str) -> str | None:
    """Why ``url`` looks like a crawl trap on its own (length, depth, repeated segments), or None."""
    if len(url) > MAX_URL:
        return "crawl trap (URL too long)"
    segments = [s for s in urlsplit(url).path.split("/") if s]
    if len(segments) > MAX_SEGMENTS:
        return "crawl trap (path too deep)"
    if any(segments.count(s) > MAX_REPEATS for s in set(segments)):
        return "crawl trap (repeated path segment)"
    return None


@dataclass(frozen=True)
class Scope:
    """Which canonical URLs a crawl may fetch: pages from ``hosts``, assets also from ``asset_hosts``."""

    hosts: frozenset[str]
    asset_hosts: frozenset[str] = frozenset()
    include: tuple[re.Pattern, ...] = ()
    exclude: tuple[re.Pattern, ...] = ()
    scheme: str = "https"

    def upgrade(self, url: str) -> str:
        """In-scope hosts are one site whatever the scheme of the link: use the start URL's scheme."""
        if host_of(url) in self.hosts | self.asset_hosts and not url.startswith(f"{self.scheme}:"):
            return with_scheme(url, self.scheme)
        return url

    def refusal(self, url: str, kind: str) -> str | None:
        """Why ``url`` (a "page" or an "asset") is out of scope, or None if it may be fetched."""
        host = host_of(url)
        if host not in self.hosts and not (kind == "asset" and host in self.asset_hosts):
            return "out of scope (other host)"
        if any(p.search(url) for p in self.exclude):
            return "out of scope (--exclude)"
        if kind == "page" and self.include and not any(p.search(url) for p in self.include):
            return "out of scope (not --include)"
        return None


def local_path(url: str) -> str:
    """Where a canonical URL is stored: ``<host>/<path>``; directory URLs end in ``index.html``.

    Extensionless names stay as they are (the record keeps their content type), so a site kept as
    files (one folder per host) comes back byte for byte under the same names.
    """
    parts = urlsplit(url)
    segments = [_safe_segment(s) for s in parts.path.split("/")[1:]]
    if not segments or segments[-1] == "":
        segments = segments[:-1] + [INDEX]
    if parts.query:
        segments[-1] += "?" + parts.query.replace("/", "%2F")
    return "/".join([parts.netloc] + segments)


def _safe_segment(segment: str) -> str:
    name = unquote(segment)
    if name in (".", ".."):
        return name.replace(".", "%2E")
    if "/" in name or "\0" in name or len(name.encode()) > 200:
        return segment if len(segment) <= 200 else segment[:180] + "-" + hashlib.sha256(segment.encode()).hexdigest()[:16]
    return name
