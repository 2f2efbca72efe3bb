"""URLs found in a page or stylesheet: resolve them, unwrap redirect wrappers, strip tracking parameters,
and decide whether each is a local file of the mirror, a broken internal link, or an external address.

Owns: the URL decisions. The site (which URLs are files of the mirror) is behind the ``SiteMap``
protocol, so the sanitizer can run on a lone page with no site at all. Never touches the tree.
"""

from __future__ import annotations

import functools
import posixpath
import re
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import parse_qsl, quote, unquote, urlencode, urljoin, urlsplit, urlunsplit

from mirror.sanitize_rules import REDIRECT_WRAPPERS, TRACKER_HOSTS, TRACKING_PARAMS, URL_SCHEMES

# Browsers drop these anywhere in a URL and leading/trailing C0 controls and spaces.
_URL_NOISE = re.compile(r"[\t\n\r]")
_SRCSET_CANDIDATE = re.compile(r"[\s,]*([^\s]+?)(,+(?=\s|$)|\s+([^,]*)(?:,|$)|$)")
_SIMPLE_PATH = re.compile(r"/(?!/)[^?#;\\\\]*")  # an absolute path and nothing else
_C0_AND_SPACE = "".join(map(chr, range(0x21)))
_PATH_SAFE = "/-._~!$&'()*+,;=:@"


class SiteMap(Protocol):
    """Which absolute URLs are the mirror's own files."""

    def locate(self, url: str) -> tuple[bool, str | None]:
        """Return (internal, output path): internal URLs name the site; the path is None if it is missing."""


class NoSite:
    """A lone page: no URL is the site's own."""

    def locate(self, url: str) -> tuple[bool, str | None]:
        return False, None


@dataclass(frozen=True)
class Target:
    kind: str  # "local", "fragment", "broken", "external" or "unsafe"
    url: str = ""  # local: relative path (+ fragment); external: the cleaned absolute URL
    host: str = ""


def normalize(raw: str) -> str:
    if "\t" in raw or "\n" in raw or "\r" in raw:
        raw = _URL_NOISE.sub("", raw)
    return raw.strip(_C0_AND_SPACE)


def locate(raw: str, base: str, page_out: str, site: SiteMap) -> Target:
    """Decide what ``raw`` (an attribute or CSS url value) found at ``base`` becomes."""
    value = normalize(raw)
    if value.startswith("#") and "\\" not in value:
        return Target("fragment", value)
    try:
        if value.startswith(("https://", "http://")) and "\\" not in value:
            absolute = value
        elif _SIMPLE_PATH.fullmatch(value) and "/." not in value and _origin(base):
            absolute = _origin(base) + value  # what urljoin gives (no dot segment, query, params, backslash)
        else:
            absolute = urljoin(base, value.replace("\\", "/"))
        parts = urlsplit(absolute)
    except ValueError:
        return Target("unsafe")
    if parts.scheme not in URL_SCHEMES:
        return Target("unsafe")
    if parts.scheme == "mailto":
        return Target("external", absolute)
    host = (parts.hostname or "").lower()  # (urllib leaves a host with "%" as it is)
    if not host or value.lower().startswith(("http:/", "https:/")) and "://" not in value[:9]:
        return Target("unsafe")  # "http:/host/x": browsers and urljoin disagree on what it means
    internal, out = site.locate(f"{parts.scheme}://{parts.netloc}{parts.path}")  # the path is "" or "/..."
    if internal:
        if out is None:
            return Target("broken", absolute.split("#", 1)[0])
        return Target("local", relative(page_out, out) + (f"#{parts.fragment}" if parts.fragment else ""))
    if not parts.query:
        return Target("external", absolute, host)
    final = strip_tracking(unwrap(absolute) if (host, parts.path or "/") in REDIRECT_WRAPPERS else absolute)
    return Target("external", final, host if final == absolute else (urlsplit(final).hostname or "").lower())


@functools.lru_cache(maxsize=64)
def _origin(base: str) -> str:
    """ "https://host" of an http(s) base URL with a host, else ""."""
    parts = urlsplit(base)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme in ("http", "https") and parts.netloc else ""


def relative(page_out: str, target_out: str) -> str:
    """A relative, percent-encoded URL from the page at ``page_out`` to the file ``target_out``."""
    rel = quote(posixpath.relpath(target_out, posixpath.dirname(page_out) or "."), safe=_PATH_SAFE)
    return f"./{rel}" if ":" in rel.split("/", 1)[0] else rel


def unwrap(url: str, depth: int = 3) -> str:
    """Replace a known redirect wrapper (google.com/url?q=..., l.facebook.com/l.php?u=...) by its target."""
    for _ in range(depth):
        parts = urlsplit(url)
        keys = REDIRECT_WRAPPERS.get(((parts.hostname or "").lower(), parts.path or "/"))
        if keys is None:
            return url
        if not keys:  # the whole query is the destination (href.li/?https://...)
            inner = unquote(parts.query)
        else:
            query = dict(parse_qsl(parts.query))
            inner = next((query[k] for k in keys if k in query), "")
        if not inner.lower().startswith(("http://", "https://")):
            return url
        url = inner
    return url


def strip_tracking(url: str) -> str:
    parts = urlsplit(url)
    if not parts.query:
        return url
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    kept = [(k, v) for k, v in pairs if not TRACKING_PARAMS.match(k)]
    if len(kept) == len(pairs):
        return url
    return urlunsplit(parts._replace(query=urlencode(kept)))


def is_tracker(url: str) -> bool:
    low = url.lower()
    return any(marker in low for marker in TRACKER_HOSTS)


def split_srcset(value: str) -> list[tuple[str, str]]:
    """``"a.png 1x, b.png 2x"`` -> [("a.png", "1x"), ("b.png", "2x")]."""
    out = []
    for match in _SRCSET_CANDIDATE.finditer(value):
        if match.group(1):
            out.append((match.group(1), (match.group(3) or "").strip()))
    return out
