"""tests/logging_proxy.py, the Firefox oracle's witness: it logs every request, forwards only to the allowed
loopback origin and nothing else, refuses CONNECT. No browser needed."""

from __future__ import annotations

import socket

import pytest

from tests.browser import serve_logged
from tests.logging_proxy import LoggingProxy, Request
from tests.servekit import read_response


def ask(proxy: LoggingProxy, request: str):
    with socket.create_connection(("127.0.0.1", proxy.port), timeout=10) as sock:
        sock.sendall(request.encode())
        with sock.makefile("rb") as reader:
            return read_response(reader)


@pytest.fixture
def two_servers(tmp_path):
    (tmp_path / "page.html").write_text("<p>the page</p>")
    with serve_logged(tmp_path) as allowed, serve_logged(tmp_path) as other:
        yield allowed, other


def test_the_allowed_loopback_server_is_reached_and_every_request_is_logged(two_servers):
    (server, base), (other, other_base) = two_servers
    with LoggingProxy([base]) as proxy:
        page = ask(proxy, f"GET {base}page.html HTTP/1.1\r\nHost: x\r\nProxy-Connection: keep-alive\r\n\r\n")
        away = ask(proxy, f"GET {other_base}page.html HTTP/1.1\r\nHost: x\r\n\r\n")
        remote = ask(proxy, "GET http://tracker.example/p.gif HTTP/1.1\r\nHost: tracker.example\r\n\r\n")
        tunnel = ask(proxy, "CONNECT tracker.example:443 HTTP/1.1\r\nHost: tracker.example:443\r\n\r\n")
    assert page.status == 200 and page.body == b"<p>the page</p>"
    assert (away.status, remote.status, tunnel.status) == (404, 404, 403)
    assert server.seen == ["/page.html"] and other.seen == []  # another loopback port is not forwarded to
    assert proxy.requests == [Request("GET", f"{base}page.html"), Request("GET", f"{other_base}page.html"),
                              Request("GET", "http://tracker.example/p.gif"),
                              Request("CONNECT", "tracker.example:443")]


@pytest.mark.parametrize("url", ["http://93.184.215.14/", "http://example.org/", "https://127.0.0.1/"])
def test_only_a_loopback_http_origin_can_be_allowed(url):
    with pytest.raises(ValueError, match="forwards only to http://<loopback address>"):
        LoggingProxy([url])
