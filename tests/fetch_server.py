"""A small threaded HTTP/1.1 server on 127.0.0.1 for the crawl tests and the crawl benchmark.

It serves folders by Host header (one folder per host name, as in the whatwg corpus: the crawler's
``connect_to`` sends every host to this one address), like nginx would: ``/dir`` redirects to
``/dir/``, a folder answers with its index.html, an extensionless file is HTML. Tests add routes for
misbehaving pages. It counts what it served (completed responses per URL, requests, bytes,
connections, the most connections open at once), can add a delay to every response, and can freeze:
a frozen server holds every request unanswered (and uncounted) until it is released or closed.
"""

from __future__ import annotations

import mimetypes
import sys
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64

    def __init__(self, roots: dict[str, Path] | None = None, default: str | None = None, delay: float = 0.0):
        super().__init__(("127.0.0.1", 0), Handler)
        self.roots = {host: Path(p) for host, p in (roots or {}).items()}
        self.default = default
        self.delay = delay
        self.routes: dict[str, object] = {}
        self.lock = threading.Lock()
        self.hits: Counter = Counter()      # (host, path) -> completed responses
        self.requests = 0
        self.bytes_sent = 0
        self.connections = 0
        self.open_now = 0
        self.most_open = 0
        self.frozen = threading.Event()
        self.released = threading.Event()
        self.thread = threading.Thread(target=self.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.server_address[1]}"

    def __enter__(self) -> Server:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.released.set()
        self.shutdown()
        self.server_close()

    def route(self, path: str, handler) -> None:
        """``handler(request_handler)`` answers requests for ``path`` (any host)."""
        self.routes[path] = handler

    def stats(self, reset: bool = False) -> dict[str, int]:
        with self.lock:
            figures = {"requests": self.requests, "bytes": self.bytes_sent, "connections": self.connections,
                       "most_open": self.most_open}
            if reset:
                self.hits.clear()
                self.requests = self.bytes_sent = self.connections = self.most_open = 0
        return figures

    def count(self, path: str, host: str | None = None) -> int:
        return sum(n for (h, p), n in self.hits.items() if p == path and (host is None or h == host))

    def handle_error(self, request, client_address) -> None:
        """A client that hangs up (a killed crawler, a closed pool) is not an error worth a traceback."""
        if not isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            super().handle_error(request, client_address)

    def process_request(self, request, client_address):
        with self.lock:
            self.connections += 1
            self.open_now += 1
            self.most_open = max(self.most_open, self.open_now)
        super().process_request(request, client_address)

    def shutdown_request(self, request):
        with self.lock:
            self.open_now -= 1
        super().shutdown_request(request)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: Server

    def log_message(self, *args) -> None:
        pass

    @property
    def host(self) -> str:
        return (self.headers.get("Host") or self.server.default or "").lower()

    def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
        with self.server.lock:
            self.server.requests += 1
        if self.server.delay:
            time.sleep(self.server.delay)
        if self.server.frozen.is_set():
            self.server.released.wait()
            self.close_connection = True
            return
        path = urlsplit(self.path).path
        route = self.server.routes.get(path)
        if route:
            route(self)
        else:
            self.serve_file(unquote(path))

    def serve_file(self, path: str) -> None:
        root = self.server.roots.get(self.host) or self.server.roots.get(self.server.default or "")
        target = (root / path.lstrip("/")).resolve() if root else None
        if target is None or not target.is_relative_to(root.resolve()) or not target.exists():
            return self.send(404, b"<!DOCTYPE html><title>Not found</title><p>Not found.\n")
        if target.is_dir():
            if not path.endswith("/"):
                return self.send(301, b"", headers={"Location": path + "/"})
            target = target / "index.html"
            if not target.exists():
                return self.send(404, b"<!DOCTYPE html><title>Not found</title><p>Not found.\n")
        return self.send(200, target.read_bytes(), content_type(target.name))

    def send(self, status: int, body: bytes, ctype: str = "text/html; charset=utf-8",
             headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)
        self.wfile.flush()
        self.done(len(body))

    def done(self, size: int) -> None:
        """Count one completed response."""
        with self.server.lock:
            self.server.hits[(self.host, urlsplit(self.path).path)] += 1
            self.server.bytes_sent += size


def content_type(name: str) -> str:
    guessed, _ = mimetypes.guess_type(name, strict=False)
    if guessed is None:
        return "text/html; charset=utf-8" if "." not in name else "application/octet-stream"
    return f"{guessed}; charset=utf-8" if guessed.startswith("text/") else guessed


def main() -> None:
    """Serve ROOT in a process of its own (the benchmark's server): print the port, then answer
    "stats" lines on stdin with a JSON line (and reset the counts); exit at end of input."""
    import argparse
    import json

    parser = argparse.ArgumentParser()
    parser.add_argument("root", type=Path)
    parser.add_argument("--delay", type=float, default=0.0)
    args = parser.parse_args()
    with Server({"": args.root}, default="", delay=args.delay) as server:
        print(server.server_address[1], flush=True)
        for _ in sys.stdin:
            print(json.dumps(server.stats(reset=True)), flush=True)


if __name__ == "__main__":
    main()
