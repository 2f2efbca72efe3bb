"""A logging HTTP proxy on 127.0.0.1 that sees every request a browser makes, whatever the server.

A browser pointed at it (``proxy.firefox_prefs()``, loopback included) sends it each request in absolute
form: every one is logged, in order, before anything else happens. Only requests to an allowed
loopback origin (the test server) are forwarded, byte for byte, one request per connection; any other
request is answered 404, and CONNECT (https, wss) is logged and refused with 403. The forwarding
address comes from the allowlist, never from the request, so nothing can reach a non-loopback host.
"""

from __future__ import annotations

import contextlib
import ipaddress
import socket
import socketserver
import threading
from dataclasses import dataclass
from urllib.parse import urlsplit

HOP_BY_HOP = {"connection", "keep-alive", "proxy-connection", "proxy-authorization", "te", "trailer",
              "upgrade", "transfer-encoding"}
REFUSED = b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
NOT_FOUND = (b"HTTP/1.1 404 Not Found\r\nContent-Type: text/plain\r\nContent-Length: 24\r\nConnection: close"
             b"\r\n\r\nnot forwarded (logged)\r\n")


@dataclass(frozen=True)
class Request:
    method: str
    url: str  # absolute: http://host:port/path?query, or host:port for CONNECT
    dest: str = ""  # what the browser says the response is for (Sec-Fetch-Dest): document, image, style...

    @property
    def origin(self) -> str:
        parts = urlsplit(self.url)
        return f"{parts.scheme}://{parts.netloc}" if parts.scheme else self.url


class _Handler(socketserver.StreamRequestHandler):
    def handle(self) -> None:
        with contextlib.suppress(OSError, ValueError):
            head = self._read_head()
            if head:
                self.server.proxy.answer(self, *head)

    def _read_head(self) -> tuple[str, str, list[tuple[str, str]]] | None:
        line = self.rfile.readline(65537).decode("latin-1").strip()
        if not line:
            return None
        method, target, _ = line.split(" ", 2)
        headers = []
        while (raw := self.rfile.readline(65537).decode("latin-1").rstrip("\r\n")):
            name, _, value = raw.partition(":")
            headers.append((name.strip(), value.strip()))
        return method, target, headers


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


class LoggingProxy:
    """``with LoggingProxy(allowed=[server_url]) as proxy:``; ``proxy.requests`` lists what was asked."""

    def __init__(self, allowed: list[str] = ()):
        self.allowed = {_loopback_origin(url) for url in allowed}
        self.requests: list[Request] = []
        self._lock = threading.Lock()
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.proxy = self
        self.port = self._server.server_address[1]

    def __enter__(self) -> LoggingProxy:
        threading.Thread(target=self._server.serve_forever, daemon=True, name="logging-proxy").start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()

    def allow(self, url: str) -> None:
        self.allowed.add(_loopback_origin(url))

    def take(self) -> list[Request]:
        """The requests logged since the last ``take()``, in order."""
        with self._lock:
            taken, self.requests = self.requests, []
        return taken

    def firefox_prefs(self) -> dict:
        """Send every request through this proxy, loopback included, and never around it."""
        return {"network.proxy.type": 1,
                "network.proxy.http": "127.0.0.1", "network.proxy.http_port": self.port,
                "network.proxy.ssl": "127.0.0.1", "network.proxy.ssl_port": self.port,
                "network.proxy.no_proxies_on": "", "network.proxy.allow_hijacking_localhost": True,
                "network.proxy.failover_direct": False, "network.http.http3.enable": False}

    def answer(self, handler: _Handler, method: str, target: str, headers: list[tuple[str, str]]) -> None:
        with self._lock:
            dest = next((v for n, v in headers if n.lower() == "sec-fetch-dest"), "")
            self.requests.append(Request(method, target, dest))
        if method == "CONNECT":
            handler.wfile.write(REFUSED)
            return
        parts = urlsplit(target)
        origin = (parts.hostname, parts.port or 80)
        if parts.scheme != "http" or origin not in self.allowed:
            handler.wfile.write(NOT_FOUND)
            return
        self._forward(handler, origin, method, parts, headers)

    def _forward(self, handler: _Handler, origin: tuple[str, int], method: str, parts,
                 headers: list[tuple[str, str]]) -> None:
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        kept = [(n, v) for n, v in headers if n.lower() not in HOP_BY_HOP]
        length = int(next((v for n, v in kept if n.lower() == "content-length"), 0) or 0)
        head = f"{method} {path} HTTP/1.1\r\n" + "".join(f"{n}: {v}\r\n" for n, v in kept)
        with socket.create_connection(origin, timeout=30) as upstream:
            body = handler.rfile.read(length)
            upstream.sendall((head + "Connection: close\r\n\r\n").encode("latin-1") + body)
            while chunk := upstream.recv(65536):
                handler.wfile.write(chunk)


def _loopback_origin(url: str) -> tuple[str, int]:
    """The (host, port) of a loopback http URL; anything else is a mistake in the test."""
    parts = urlsplit(url)
    try:
        loopback = parts.scheme == "http" and ipaddress.ip_address(parts.hostname or "").is_loopback
    except ValueError:  # a name: it would need a DNS lookup, which could answer anything
        loopback = False
    if not loopback:
        raise ValueError(f"the logging proxy forwards only to http://<loopback address>, not to {url}")
    return parts.hostname, parts.port or 80
