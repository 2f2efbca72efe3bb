"""HTTP/1.1 for a static server: a strict request-head parser, and the small pieces of negotiation.

Owns: turning the bytes of a request head into a ``Request`` or a ``BadRequest`` (with the 4xx/501 to
send), choosing a content coding from ``Accept-Encoding``, matching ``If-None-Match`` and reading a
``Range``. Never touches files or sockets (serve.py) and never decides what a path maps to
(resources.py).

Strict by design: anything a lenient parser would have to guess about (bare LF or CR, obsolete line
folding, spaces before a colon, duplicate Host/Content-Length, any Transfer-Encoding, a body, a
non-origin-form target) is refused with a 4xx and the connection is closed, so no request can be
smuggled past the server or read two ways.
"""

from __future__ import annotations

import re

MAX_HEAD = 8192  # bytes of request line + header fields (nginx's default large buffer)
MAX_FIELDS = 64

TOKEN = rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+"
# Origin-form target (RFC 9112 3.2.1): path and query of RFC 3986 pchars, no fragment, no backslash.
TARGET = rb"/[A-Za-z0-9\-._~%!$&'()*+,;=:@/?|^\[\]]*"
REQUEST_LINE = re.compile(rb"(" + TOKEN + rb") (" + TARGET + rb") HTTP/1\.([01])")
FIELD_LINE = re.compile(rb"(" + TOKEN + rb"):([\t\x20-\x7e\x80-\xff]*)")
HOST = re.compile(rb"[A-Za-z0-9\-._~!$&'()*+,;=:\[\]%]*")
DIGITS = re.compile(rb"[0-9]{1,18}")
BARE_LF = re.compile(rb"(?<!\r)\n|\r(?!\n)")
BAD_PERCENT = re.compile(rb"%(?![0-9A-Fa-f]{2})")
PERCENT = re.compile(rb"%([0-9A-Fa-f]{2})")
RANGE_SPEC = re.compile(rb"[ \t]*([0-9]{0,18})-([0-9]{0,18})[ \t]*")

SINGLETONS = frozenset((b"host", b"content-length", b"range", b"if-range", b"authorization"))
KNOWN_METHODS = frozenset((b"POST", b"PUT", b"DELETE", b"PATCH", b"OPTIONS", b"TRACE", b"CONNECT"))
READ_METHODS = frozenset((b"GET", b"HEAD"))

REASONS = {
    200: "OK", 206: "Partial Content", 301: "Moved Permanently", 304: "Not Modified",
    400: "Bad Request", 404: "Not Found", 405: "Method Not Allowed", 408: "Request Timeout",
    413: "Content Too Large", 414: "URI Too Long", 416: "Range Not Satisfiable",
    431: "Request Header Fields Too Large", 501: "Not Implemented", 503: "Service Unavailable",
}


class BadRequest(Exception):
    """A request the server refuses; ``status`` is what to send before closing the connection."""

    def __init__(self, status: int, why: str):
        super().__init__(why)
        self.status = status
        self.why = why


class Request:
    """The parts of a parsed request head a static server needs."""

    __slots__ = ("method", "path", "head_only", "keep_alive", "fields")

    def __init__(self, method: bytes, path: str, keep_alive: bool, fields: dict[bytes, bytes]):
        self.method = method
        self.path = path
        self.head_only = method == b"HEAD"
        self.keep_alive = keep_alive
        self.fields = fields


def incomplete_head_problem(buf: bytes) -> BadRequest | None:
    """For a buffer with no blank line yet: the error to send now, or None to wait for more bytes."""
    if BARE_LF.search(buf, 0, MAX_HEAD):
        return BadRequest(400, "bare CR or LF in the request head")
    if len(buf) > MAX_HEAD:
        if b"\r\n" not in buf[:MAX_HEAD]:
            return BadRequest(414, "request line too long")
        return BadRequest(431, "request head too long")
    return None


def parse_head(head: bytes) -> Request:
    """Parse a request head (without its final blank line) or raise ``BadRequest``."""
    lines = head.split(b"\r\n")
    match = REQUEST_LINE.fullmatch(lines[0])
    if match is None:
        raise BadRequest(400, "malformed request line")
    method, target, minor = match.groups()
    fields = parse_fields(lines)
    check_framing(fields, minor)
    if method not in READ_METHODS:
        raise BadRequest(405 if method in KNOWN_METHODS else 501, "only GET and HEAD are served")
    connection = fields.get(b"connection", b"").lower()
    keep_alive = minor == b"1" and b"close" not in connection
    return Request(method, decode_path(target), keep_alive, fields)


def parse_fields(lines: list[bytes]) -> dict[bytes, bytes]:
    if len(lines) > MAX_FIELDS + 1:
        raise BadRequest(431, "too many header fields")
    fields: dict[bytes, bytes] = {}
    for line in lines[1:]:
        match = FIELD_LINE.fullmatch(line)
        if match is None:
            raise BadRequest(400, "malformed header field")
        name = match.group(1).lower()
        value = match.group(2).strip(b" \t")
        if name in fields:
            if name in SINGLETONS:
                raise BadRequest(400, f"duplicate {name.decode()} field")
            value = fields[name] + b", " + value
        fields[name] = value
    return fields


def check_framing(fields: dict[bytes, bytes], minor: bytes) -> None:
    """No body, no smuggling: refuse Transfer-Encoding and any non-zero Content-Length."""
    if b"transfer-encoding" in fields:
        raise BadRequest(400, "request bodies are not accepted (Transfer-Encoding)")
    length = fields.get(b"content-length")
    if length is not None:
        if DIGITS.fullmatch(length) is None:
            raise BadRequest(400, "malformed Content-Length")
        if int(length):
            raise BadRequest(413, "request bodies are not accepted")
    host = fields.get(b"host")
    if host is None:
        if minor == b"1":
            raise BadRequest(400, "HTTP/1.1 request without Host")
    elif HOST.fullmatch(host) is None:
        raise BadRequest(400, "malformed Host")


def decode_path(target: bytes) -> str:
    """The percent-decoded path of an origin-form target; refuses dot segments, NUL, controls, backslashes."""
    path = target.split(b"?", 1)[0]
    if b"%" in path:
        if BAD_PERCENT.search(path):
            raise BadRequest(400, "malformed percent-encoding")
        path = PERCENT.sub(lambda m: bytes((int(m.group(1), 16),)), path)
    try:
        text = path.decode("utf-8")  # strict: overlong forms and surrogates are errors
    except UnicodeDecodeError:
        raise BadRequest(400, "path is not UTF-8") from None
    if not text.isprintable() or "\\" in text:
        raise BadRequest(400, "control character or backslash in path")
    if "/." in text:
        for segment in text.split("/"):
            if segment in (".", ".."):
                raise BadRequest(400, "dot segment in path")
    return text


def choose_coding(accept: bytes | None, available: tuple[str, ...]) -> str:
    """The coding to send: our fixed preference (br, then gzip) among those accepted with q > 0."""
    if not accept or len(available) == 1:
        return "identity"
    accepted = accepted_codings(accept)
    for coding in available:
        if coding in accepted or ("*" in accepted and f"!{coding}" not in accepted):
            return coding
    return "identity"


def accepted_codings(accept: bytes) -> frozenset[str]:
    """Codings with q > 0, plus ``!name`` for those explicitly refused (q=0)."""
    names = set()
    for item in accept.decode("latin-1").lower().split(","):
        name, _, params = item.partition(";")
        name = name.strip()
        name = "gzip" if name == "x-gzip" else name
        if not name:
            continue
        names.add(name if _quality(params) > 0 else f"!{name}")
    return frozenset(names)


def _quality(params: str) -> float:
    for param in params.split(";"):
        key, _, value = param.strip().partition("=")
        if key.strip() == "q":
            try:
                q = float(value.strip())
            except ValueError:
                return 0.0
            return q if 0.0 <= q <= 1.0 else 0.0
    return 1.0


def none_match(header: bytes, etag: bytes) -> bool:
    """True when ``If-None-Match`` names ``etag`` (weak comparison, as RFC 9110 13.1.2 asks) or is ``*``."""
    if header.strip() == b"*":
        return True
    opaque = etag.removeprefix(b"W/")
    return any(tag.strip().removeprefix(b"W/") == opaque for tag in header.split(b","))


def byte_range(header: bytes, size: int) -> tuple[int, int] | None | bool:
    """Read a ``Range`` for a representation of ``size`` bytes.

    Returns (first, last) inclusive for a single satisfiable range; None to ignore the header and send
    the whole (another unit, several ranges, an empty set); False when it is unsatisfiable or malformed
    (send 416).
    """
    if not header.startswith(b"bytes="):
        return None
    spec = header[6:]
    if b"," in spec or not spec.strip():
        return None
    match = RANGE_SPEC.fullmatch(spec)
    if match is None or match.group(1) == match.group(2) == b"":
        return False
    first, last = match.groups()
    if first == b"":  # suffix: the last N bytes
        count = int(last)
        if count == 0 or size == 0:
            return False
        return max(0, size - count), size - 1
    start = int(first)
    end = size - 1 if last == b"" else min(int(last), size - 1)
    if start >= size or (last != b"" and int(last) < start):
        return False
    return start, end
