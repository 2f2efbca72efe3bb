"""Request -> response: picks the resource, the coding and the status, and returns the bytes to write.

Owns: the mapping of a parsed ``Request`` onto a loaded ``Catalog`` (200, 206, 301, 304, 404, 416) and
the wire form of error responses. Every small response comes back as one ``bytes`` so the server can
send headers and body in one write. Never parses (http.py), never loads files (resources.py), never
touches sockets (serve.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote

from mirror import http
from mirror.resources import FIXED_HEADERS, Catalog, Resource, Variant, header_lines

CLOSE = b"Connection: close\r\n"
ERROR_HEADERS = header_lines([("Content-Type", "text/plain; charset=utf-8"), ("Cache-Control", "no-store"),
                              ("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'"),
                              *FIXED_HEADERS])
_coding_memo: dict[tuple[bytes, tuple[str, ...]], str] = {}


@dataclass(frozen=True)
class FileJob:
    """The body of a large file, to be sent from disk after ``head``."""

    path: str
    offset: int
    count: int
    size: int  # the size the file must still have


def respond(catalog: Catalog, req: http.Request) -> tuple[bytes, FileJob | None]:
    """The response to ``req``: its bytes (headers, and the body when it is in memory) and any file job."""
    resource = catalog.routes.get(req.path)
    if resource is None:
        target = catalog.redirects.get(req.path)
        if target is not None:
            return redirect(target, req), None
        return whole(catalog.not_found.variants["identity"], req, b"404 Not Found")
    fields = req.fields
    wants_range = b"range" in fields and not req.head_only
    coding = "identity" if wants_range else negotiate(fields.get(b"accept-encoding"), resource.codings)
    variant = resource.variants[coding]
    inm = fields.get(b"if-none-match")
    if inm is not None and http.none_match(inm, variant.etag):  # before Range, as RFC 9110 13.2.2 orders
        return status_only(304, resource.common + b"ETag: " + variant.etag + b"\r\n", req.keep_alive), None
    if wants_range:
        return ranged(resource, req)
    return whole(variant, req)


def whole(variant: Variant, req: http.Request, status: bytes = b"200 OK") -> tuple[bytes, FileJob | None]:
    if variant.body is not None and req.keep_alive and status == b"200 OK":
        return (variant.wire[: variant.head_len] if req.head_only else variant.wire), None
    head = b"HTTP/1.1 %s\r\n%sContent-Length: %d\r\n%s\r\n" % (
        status, variant.headers, variant.size, b"" if req.keep_alive else CLOSE)
    if req.head_only:
        return head, None
    if variant.body is None:
        return head, FileJob(variant.path, 0, variant.size, variant.size)
    return head + variant.body, None


def ranged(resource: Resource, req: http.Request) -> tuple[bytes, FileJob | None]:
    """A GET with Range: always about the identity representation (ranges of a gzip stream help nobody)."""
    variant = resource.variants["identity"]
    if_range = req.fields.get(b"if-range")
    span = http.byte_range(req.fields[b"range"], variant.size)
    if span is None or (if_range is not None and if_range != variant.etag):
        return whole(variant, req)
    close = b"" if req.keep_alive else CLOSE
    if span is False:
        extra = resource.common + b"Content-Range: bytes */%d\r\nContent-Length: 0\r\n" % variant.size
        return b"HTTP/1.1 416 Range Not Satisfiable\r\n" + extra + close + b"\r\n", None
    first, last = span
    count = last - first + 1
    head = (b"HTTP/1.1 206 Partial Content\r\n%sContent-Range: bytes %d-%d/%d\r\nContent-Length: %d\r\n%s\r\n"
            % (variant.headers, first, last, variant.size, count, close))
    if variant.body is None:
        return head, FileJob(variant.path, first, count, variant.size)
    return head + variant.body[first:last + 1], None


def negotiate(accept: bytes | None, codings: tuple[str, ...]) -> str:
    if accept is None or len(codings) == 1:
        return "identity"
    key = (accept, codings)
    coding = _coding_memo.get(key)
    if coding is None:
        if len(_coding_memo) > 512:
            _coding_memo.clear()
        coding = _coding_memo[key] = http.choose_coding(accept, codings)
    return coding


def redirect(target: str, req: http.Request) -> bytes:
    location = quote(target, safe="/!$&'()*+,;=:@~").encode("ascii")
    headers = ERROR_HEADERS + b"Location: " + location + b"\r\n"
    return status_only(301, headers, req.keep_alive, with_length=True)


def status_only(status: int, headers: bytes, keep_alive: bool, with_length: bool = False) -> bytes:
    line = b"HTTP/1.1 %d %s\r\n" % (status, http.REASONS[status].encode())
    length = b"Content-Length: 0\r\n" if with_length else b""
    return line + headers + length + (b"" if keep_alive else CLOSE) + b"\r\n"


def error(status: int, why: str = "") -> bytes:
    """An error response that ends the connection: a short plain-text body naming the status."""
    body = f"{status} {http.REASONS[status]}\n".encode()
    allow = b"Allow: GET, HEAD\r\n" if status == 405 else b""
    return (b"HTTP/1.1 %d %s\r\n" % (status, http.REASONS[status].encode()) + ERROR_HEADERS + allow
            + b"Content-Length: %d\r\n" % len(body) + CLOSE + b"\r\n" + body)
