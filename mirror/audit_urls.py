"""URL reading for the audit: what a browser would make of an attribute value or a CSS url().

Owns: normalising a URL the way browsers do before they act on it (entities are already decoded by the
parser; here: outer C0/space stripped, tabs and newlines removed, backslashes as slashes), telling a
script URL from a ``data:`` URL, a remote one and a local path, resolving a local path inside the audited
folder, and splitting ``srcset`` and ``<meta refresh>`` values. Never touches the file system and never
imports the sanitizer: the audit is an independent second opinion.
"""

from __future__ import annotations

import functools
import posixpath
import re
from dataclasses import dataclass
from urllib.parse import unquote

SCHEME = re.compile(r"([a-zA-Z][a-zA-Z0-9+.\-]*):")
SCRIPT_SCHEMES = frozenset({"javascript", "vbscript", "livescript", "mocha", "jscript"})
INERT_SCHEMES = frozenset({"about"})  # about:blank, about:srcdoc: nothing is fetched
# data: payloads a browser shows without running anything. Anything else in a data: URL (HTML, XML, SVG
# outside an image, script, plugins) is treated as able to run script.
INERT_DATA_TYPES = re.compile(
    r"(image/(png|jpeg|jpg|gif|webp|avif|bmp|x-icon|vnd\.microsoft\.icon|apng)|audio/[\w.+-]+|video/[\w.+-]+"
    r"|font/[\w.+-]+|application/(font-woff2?|x-font-[\w.+-]+|vnd\.ms-fontobject|octet-stream)|text/plain)$")
C0_AND_SPACE = "".join(chr(c) for c in range(0x21))
MAX_SHOWN = 100


@dataclass(frozen=True)
class Url:
    """One reference, classified: kind is script | data | inert | remote | outside | local."""

    raw: str
    kind: str
    scheme: str = ""
    path: str = ""  # local: resolved path relative to the audited folder (POSIX), "" for the page itself
    fragment: str = ""
    data_type: str = ""  # data: URLs: the media type, lowercase
    data_body: str = ""  # data: URLs: the payload, percent- or base64-decoded when it is text

    @functools.cached_property
    def shown(self) -> str:
        text = " ".join(self.raw.split())
        return text if len(text) <= MAX_SHOWN else text[:MAX_SHOWN - 1] + "…"


def normalize(value: str) -> str:
    """The URL string as a browser parses it: outer C0 controls and spaces gone, tab/CR/LF removed."""
    value = value.strip(C0_AND_SPACE)
    if "\t" in value or "\n" in value or "\r" in value:
        value = value.replace("\t", "").replace("\n", "").replace("\r", "")
    return value


@functools.lru_cache(maxsize=4096)  # pages repeat their links; a Url is immutable
def classify(value: str, base_dir: str) -> Url:
    """Classify ``value`` found in a file whose folder (relative to the audited root) is ``base_dir``."""
    url = normalize(value)
    match = SCHEME.match(url)
    if match:
        scheme = match.group(1).lower()
        if scheme in SCRIPT_SCHEMES:
            return Url(value, "script", scheme)
        if scheme == "data":
            data_type, body = parse_data(url[match.end():])
            return Url(value, "data", scheme, data_type=data_type, data_body=body)
        if scheme in INERT_SCHEMES:
            return Url(value, "inert", scheme)
        return Url(value, "remote", scheme)
    url = url.replace("\\", "/")
    if url.startswith("//"):
        return Url(value, "remote")
    url, _, fragment = url.partition("#")
    path = url.split("?", 1)[0]
    if not path:
        return Url(value, "local", path="", fragment=unquote(fragment))
    resolved = resolve(base_dir, unquote(path))
    if resolved is None:
        return Url(value, "outside", path=path)
    return Url(value, "local", path=resolved, fragment=unquote(fragment))


def resolve(base_dir: str, path: str) -> str | None:
    """Join ``path`` to ``base_dir`` inside the root; None when it climbs out of the root.

    A folder comes back with a trailing slash ("/" for the root), a file without one."""
    joined = path if path.startswith("/") else f"{base_dir}/{path}" if base_dir else path
    trailing = joined.endswith(("/", "/.", "/..")) or joined in (".", "..")
    parts: list[str] = []
    for part in joined.split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            if not parts:
                return None
            parts.pop()
            continue
        parts.append(part)
    result = "/".join(parts)
    return f"{result}/" if trailing or not result else result  # a folder ends with "/" (the root is "/")


def base_dir_of(rel: str) -> str:
    return posixpath.dirname(rel)


def parse_data(rest: str) -> tuple[str, str]:
    """``data:`` after the colon -> (media type lowercase, decoded text payload or "")."""
    header, _, payload = rest.partition(",")
    params = [p.strip() for p in header.split(";")]
    media_type = (params[0] or "text/plain").lower()
    try:
        if any(p.lower() == "base64" for p in params[1:]):
            import base64

            raw = base64.b64decode("".join(payload.split()) + "==="[: (4 - len(payload) % 4) % 4],
                                   validate=False)
        else:
            raw = unquote(payload).encode("utf-8", "surrogatepass")
        body = raw.decode("utf-8", "replace")
    except (ValueError, UnicodeError):
        body = ""
    return media_type, body


def data_is_inert(data_type: str, image_context: bool) -> bool:
    """A data: payload that cannot run script where it is used (SVG is inert only as an image)."""
    if data_type == "image/svg+xml":
        return image_context
    return bool(INERT_DATA_TYPES.match(data_type))


def srcset_urls(value: str) -> list[str]:
    """The URLs of a ``srcset`` (HTML's image candidate string algorithm, descriptors dropped)."""
    urls: list[str] = []
    pos, n = 0, len(value)
    while pos < n:
        while pos < n and (value[pos] in " \t\n\r\f,"):
            pos += 1
        if pos >= n:
            break
        start = pos
        while pos < n and value[pos] not in " \t\n\r\f":
            pos += 1
        url = value[start:pos]
        if url.endswith(","):
            urls.append(url.rstrip(","))
            continue
        urls.append(url)
        depth = 0
        while pos < n:  # skip descriptors up to a comma outside parentheses
            ch = value[pos]
            if ch == "(":
                depth += 1
            elif ch == ")":
                depth = max(0, depth - 1)
            elif ch == "," and depth == 0:
                break
            pos += 1
    return [u for u in urls if u]


def refresh_url(content: str) -> str | None:
    """The target of a ``<meta http-equiv=refresh content=...>``; None when it only reloads the page."""
    text = content.strip(" \t\n\r\f")
    i = 0
    while i < len(text) and (text[i].isdigit() or text[i] == "."):
        i += 1
    text = text[i:].lstrip(" \t\n\r\f")
    if text[:1] in (";", ","):
        text = text[1:].lstrip(" \t\n\r\f")
    if not text:
        return None
    if text[:3].lower() == "url":
        rest = text[3:].lstrip(" \t\n\r\f")
        if rest.startswith("="):
            text = rest[1:].lstrip(" \t\n\r\f")
    if text[:1] in ("'", '"'):
        quote = text[0]
        text = text[1:].split(quote, 1)[0]
    return text or None


def split_urls(value: str) -> list[str]:
    """Space-separated URL lists (``ping``, ``archive``, ``attributionsrc``)."""
    return [u for u in re.split(r"[\s,]+", value) if u]
