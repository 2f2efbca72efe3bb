"""Helpers for the serve tests: a small build directory, and a raw HTTP/1.1 client over TCP or a unix socket.

The client is deliberately raw (bytes in, bytes out) so tests see exactly what went over the wire:
headers as sent, one response per request, nothing normalised by a library.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
from dataclasses import dataclass
from pathlib import Path

from mirror import build

PAGE_CSP = "default-src 'none'; style-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'"


def page(title: str, body: str) -> bytes:
    """A page the audit passes: its policy in a <meta> (the server repeats it as a header)."""
    return (f'<!doctype html><html lang="en"><head><meta charset="utf-8">'
            f'<meta http-equiv="Content-Security-Policy" content="{PAGE_CSP}"><title>{title}</title></head>'
            f"<body>{body}</body></html>").encode()


PAGE = page("Seed", "".join(f"<p>Paragraph {i}: read without a clickstream.</p>" for i in range(400)))
ELEVEN = b"0123456789\n"
BIG_TEXT = b"".join(b"line %d of a text too large to be held in memory\n" % n for n in range(30_000))
LARGE = bytes(range(256)) * (5 << 12)  # 5 MiB: above the in-memory limit, sent from disk


def write_site(out: Path, *, with_404: bool = True) -> dict[str, bytes]:
    files = {
        "index.html": PAGE,
        "about": page("About", "<p>An extensionless page.</p>"),
        "docs/index.html": page("Docs", "<p>Docs.</p>"),
        "style.css": b"body { color: #222; }\n" * 40,
        "pixel.png": b"\x89PNG\r\n\x1a\n" + bytes(64),
        "large.bin": LARGE,
        "big.txt": BIG_TEXT,  # too large to be held in memory, sent compressed from disk
    }
    if with_404:
        files["404.html"] = page("Missing", "<p>No such page here.</p>")
    build.write_build(out, files, {name: PAGE_CSP for name in files if name.endswith((".html", "about"))})
    add_to_build(out, "file", ELEVEN, "text/plain; charset=utf-8")
    files["file"] = ELEVEN
    return files


def add_to_build(root: Path, rel: str, data: bytes, ctype: str) -> None:
    """Add a file the audit would take for a page (no extension): the Go cases want an 11-byte /file."""
    (root / rel).write_bytes(data)
    manifest_path = root / build.MANIFEST
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    manifest["files"][rel] = {"sha256": hashlib.sha256(data).hexdigest(), "size": len(data), "type": ctype}
    manifest_path.write_text(json.dumps(manifest), encoding="utf-8")


def etag_of(data: bytes) -> str:
    return '"' + hashlib.sha256(data).hexdigest()[:32] + '"'


@dataclass
class Response:
    status: int
    headers: dict[str, str]  # lower-case names; repeated fields joined with ", "
    body: bytes
    raw_head: bytes

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


def connect(where, timeout: float = 5.0) -> socket.socket:
    """``where``: a Server (or anything with ``socket_path``/``port``), or an (host, port) tuple."""
    if isinstance(where, tuple):
        sock = socket.create_connection(where, timeout=timeout)
    elif getattr(where, "socket_path", None):
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(timeout)
        sock.connect(os.fspath(where.socket_path))
    else:
        sock = socket.create_connection(("127.0.0.1", where.port), timeout=timeout)
    sock.settimeout(timeout)
    return sock


def raw(where, data: bytes, timeout: float = 5.0, settle: float | None = None) -> bytes:
    """Send ``data`` as is and return everything received until the server closes (or the timeout).

    With ``settle``, stop waiting ``settle`` seconds after the first complete response (keep-alive).
    """
    with connect(where, timeout) as sock:
        sock.sendall(data)
        chunks = []
        try:
            while chunk := sock.recv(1 << 16):
                chunks.append(chunk)
                if settle is not None and complete_response(b"".join(chunks)):
                    sock.settimeout(settle)
        except (TimeoutError, socket.timeout):
            chunks.append(b"<<TIMEOUT>>")
        except ConnectionResetError:
            chunks.append(b"<<RESET>>")
    return b"".join(chunks)


def complete_response(data: bytes) -> bool:
    try:
        return bool(parse_all(data))
    except (ConnectionError, ValueError, IndexError):
        return False


def request(path: str, method: str = "GET", headers: dict[str, str] | None = None) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1"]
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def fetch(where, path: str, method: str = "GET", **headers: str) -> Response:
    """One request on a fresh connection; the response is read by its Content-Length."""
    fields = {k.replace("_", "-"): v for k, v in headers.items()}
    with connect(where) as sock:
        sock.sendall(request(path, method, fields))
        reader = sock.makefile("rb")
        return read_response(reader, head_only=method == "HEAD")


def read_response(reader, head_only: bool = False) -> Response:
    lines = []
    while True:
        line = reader.readline(65536)
        if not line:
            raise ConnectionError(f"connection closed mid-head after {lines!r}")
        if line == b"\r\n":
            break
        lines.append(line)
    status = int(lines[0].split()[1])
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, _, value = line.decode("latin-1").partition(":")
        key = name.strip().lower()
        headers[key] = f"{headers[key]}, {value.strip()}" if key in headers else value.strip()
    length = int(headers.get("content-length", "0"))
    body = b"" if head_only or status == 304 else reader.read(length)
    return Response(status, headers, body, b"".join(lines))


def parse_all(data: bytes) -> list[Response]:
    """Every response in a byte string received over one connection."""
    import io

    reader, out = io.BytesIO(data), []
    while reader.tell() < len(data) and data[reader.tell():].startswith(b"HTTP/"):
        response = read_response(reader)
        if len(response.body) < int(response.headers.get("content-length", "0")) and response.status != 304:
            raise ConnectionError("truncated body")
        out.append(response)
    return out
