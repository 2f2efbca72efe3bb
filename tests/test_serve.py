"""The embedded server: headers, conditional and range requests, 404s, negotiation, types, addresses, CLI."""

from __future__ import annotations

import gzip
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import brotli
import pytest

from mirror import build, connection, serve
from mirror.errors import ServeError
from tests.servekit import (
    ELEVEN,
    LARGE,
    PAGE,
    PAGE_CSP,
    connect,
    etag_of,
    fetch,
    parse_all,
    raw,
    read_response,
    request,
    write_site,
)

PRIVACY_HEADERS = {
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
}


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("serve") / "site"
    write_site(root)
    return root


@pytest.fixture(scope="module")
def server(site):
    with serve.start(site) as running:
        yield running


def test_page_has_the_builds_csp_and_privacy_headers_and_nothing_identifying(server):
    r = fetch(server, "/")
    assert r.status == 200 and r.body == PAGE
    assert r.header("content-security-policy") == PAGE_CSP + "; frame-ancestors 'none'"
    for name, value in PRIVACY_HEADERS.items():
        assert r.header(name) == value
    assert r.header("cache-control") == "no-cache"
    for absent in ("server", "date", "last-modified", "set-cookie", "x-powered-by"):
        assert absent not in r.headers
    assert "upgrade-insecure-requests" not in r.raw_head.decode().lower()


def test_etag_is_the_content_hash(server):
    assert fetch(server, "/index.html").header("etag") == etag_of(PAGE)
    assert fetch(server, "/file").header("etag") == etag_of(ELEVEN)


def test_every_response_kind_carries_the_privacy_headers(server):
    for path, status in (("/style.css", 200), ("/nowhere", 404), ("/docs", 301)):
        r = fetch(server, path)
        assert r.status == status
        for name, value in PRIVACY_HEADERS.items():
            assert r.header(name) == value, (path, name)
        assert "frame-ancestors 'none'" in r.header("content-security-policy")


@pytest.mark.parametrize("path, ctype", [
    ("/", "text/html; charset=utf-8"),
    ("/about", "text/html; charset=utf-8"),
    ("/style.css", "text/css; charset=utf-8"),
    ("/pixel.png", "image/png"),
    ("/large.bin", "application/octet-stream"),
])
def test_content_types_come_from_the_manifest(server, path, ctype):
    r = fetch(server, path, "HEAD")
    assert r.status == 200 and r.header("content-type") == ctype


def test_directories_serve_their_index_and_redirect_without_slash(server):
    assert fetch(server, "/docs/").body.startswith(b"<!doctype html>")
    r = fetch(server, "/docs")
    assert r.status == 301 and r.header("location") == "/docs/"


def test_if_none_match_gives_304_with_the_etag_and_no_body(server):
    tag = etag_of(PAGE)
    for header in (tag, f"W/{tag}", f'"nope", {tag}', "*"):
        r = fetch(server, "/", if_none_match=header)
        assert r.status == 304, header
        assert r.header("etag") == tag and "content-length" not in r.headers
    assert fetch(server, "/", if_none_match='"other"').status == 200


def test_range_of_a_large_file_sent_from_disk(server):
    r = fetch(server, "/large.bin", range="bytes=1000-1999")
    assert r.status == 206 and r.body == LARGE[1000:2000]
    assert r.header("content-range") == f"bytes 1000-1999/{len(LARGE)}"
    whole = fetch(server, "/large.bin")
    assert whole.status == 200 and whole.body == LARGE


@pytest.mark.parametrize("spec, status, body", [
    ("bytes=0-3", 206, ELEVEN[0:4]),
    ("bytes=-3", 206, ELEVEN[-3:]),
    ("bytes=6-", 206, ELEVEN[6:]),
    ("bytes=5-100", 206, ELEVEN[5:]),
    ("bytes=11-", 416, b""),
    ("bytes=-0", 416, b""),
    ("bytes=--6", 416, b""),
    ("bytes=0-1,4-5", 200, ELEVEN),
    ("items=0-3", 200, ELEVEN),
])
def test_single_ranges_are_served_and_bad_ones_refused(server, spec, status, body):
    r = fetch(server, "/file", range=spec)
    assert (r.status, r.body) == (status, body)
    if status == 416:
        assert r.header("content-range") == "bytes */11"


def test_if_range_with_another_etag_gives_the_whole_file(server):
    assert fetch(server, "/file", range="bytes=0-3", if_range='"old"').status == 200
    assert fetch(server, "/file", range="bytes=0-3", if_range=etag_of(ELEVEN)).status == 206


def test_404_uses_the_builds_page(server):
    r = fetch(server, "/no/such/page")
    assert r.status == 404 and b"No such page here." in r.body
    head = fetch(server, "/no/such/page", "HEAD")
    assert head.status == 404 and head.body == b""


def test_404_without_a_page_in_the_build_is_plain_text(tmp_path):
    root = tmp_path / "site"
    write_site(root, with_404=False)
    with serve.start(root) as running:
        r = fetch(running, "/missing")
    assert r.status == 404 and r.header("content-type").startswith("text/plain") and r.body == b"Not found.\n"


@pytest.mark.parametrize("accept, coding", [
    ("gzip, deflate, br", "br"),
    ("gzip", "gzip"),
    ("br;q=0, gzip", "gzip"),
    ("x-gzip", "gzip"),
    ("*", "br"),
    ("deflate", None),
    ("identity", None),
])
def test_compression_is_negotiated_deterministically(server, accept, coding):
    r = fetch(server, "/", accept_encoding=accept)
    assert r.status == 200 and r.header("vary") == "Accept-Encoding"
    assert r.header("content-encoding") == coding
    body = {"br": brotli.decompress, "gzip": gzip.decompress, None: bytes}[coding](r.body)
    assert body == PAGE
    assert r.header("etag") == etag_of(PAGE)[:-1] + (f'-{coding}"' if coding else '"')


def test_a_compressed_variant_revalidates_with_its_own_etag(server):
    tag = fetch(server, "/", accept_encoding="br").header("etag")
    assert fetch(server, "/", accept_encoding="br", if_none_match=tag).status == 304
    assert fetch(server, "/", accept_encoding="gzip", if_none_match=tag).status == 200


def test_head_has_the_headers_of_get_and_no_body(server):
    get, head = fetch(server, "/style.css"), fetch(server, "/style.css", "HEAD")
    assert head.body == b"" and head.headers == get.headers


def test_methods_other_than_get_and_head_are_refused(server):
    r = parse_all(raw(server, request("/", "POST")))[0]
    assert r.status == 405 and r.header("allow") == "GET, HEAD" and r.header("connection") == "close"
    assert parse_all(raw(server, request("/", "FOO")))[0].status == 501


def test_pipelined_requests_are_answered_in_order_on_one_connection(server):
    data = request("/file") + request("/about") + request("/file", headers={"Connection": "close"})
    responses = parse_all(raw(server, data))
    assert [r.status for r in responses] == [200, 200, 200]
    assert responses[0].body == ELEVEN and b"extensionless" in responses[1].body


def test_a_small_response_is_one_write_with_nodelay(site, monkeypatch):
    writes = []

    class Counting:
        def __init__(self, transport):
            self._t = transport

        def write(self, data):
            writes.append(len(data))
            self._t.write(data)

        def __getattr__(self, name):
            return getattr(self._t, name)

    made = connection.Connection.connection_made

    def wrapped(self, transport):
        made(self, transport)
        sock = transport.get_extra_info("socket")
        writes.append(("nodelay", sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)))
        self.transport = Counting(transport)

    monkeypatch.setattr(connection.Connection, "connection_made", wrapped)
    with serve.start(site) as running:
        r = fetch(running, "/")
    assert writes[0][0] == "nodelay" and writes[0][1] != 0
    assert writes[1:] == [len(r.raw_head) + 2 + len(PAGE)]


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.168.1.10", "example.org", "[::]"])
def test_non_loopback_addresses_are_refused_with_the_reason(site, host):
    with pytest.raises(ServeError, match="not a loopback address.*--i-understand-this-exposes-the-server"):
        serve.start(site, host=host)


def test_loopback_addresses_are_accepted(site):
    serve.check_host("0.0.0.0", allow_public=True)  # the operator's explicit choice (not bound here)
    with serve.start(site, host="127.0.0.2") as running:
        assert running.url.startswith("http://127.0.0.2:")
        assert fetch(("127.0.0.2", running.port), "/").status == 200


def test_unix_socket_serves_and_is_removed_on_stop(site, tmp_path):
    path = tmp_path / "mirror.sock"
    with serve.start(site, socket_path=path) as running:
        assert running.url is None and running.socket_path == path
        assert oct(path.stat().st_mode & 0o777) == "0o660"
        assert fetch(running, "/").body == PAGE
    assert not path.exists()


def test_unix_socket_refuses_to_replace_a_regular_file(site, tmp_path):
    path = tmp_path / "not-a-socket"
    path.write_text("keep me")
    with pytest.raises(ServeError, match="is not a socket"):
        serve.start(site, socket_path=path)
    assert path.read_text() == "keep me"


def test_a_directory_without_manifest_is_hashed_at_start_and_says_so(site, tmp_path, caplog):
    plain = tmp_path / "plain"
    shutil.copytree(site, plain, ignore=shutil.ignore_patterns(".mirror"))
    with caplog.at_level(logging.WARNING), serve.start(plain) as running:
        r = fetch(running, "/", accept_encoding="br, gzip")
        assert r.status == 200 and r.body == PAGE and r.header("etag") == etag_of(PAGE)
        assert fetch(running, "/about").header("content-type") == "text/html; charset=utf-8"
    assert "no .mirror/manifest.json" in caplog.text and "hashed" in caplog.text


def test_a_missing_directory_is_a_clear_error(tmp_path):
    with pytest.raises(ServeError, match="is not a directory"):
        serve.start(tmp_path / "nope")


def test_idle_and_slow_connections_time_out(site, monkeypatch):
    monkeypatch.setattr(connection, "IDLE_TIMEOUT", 1)
    monkeypatch.setattr(connection, "HEAD_TIMEOUT", 1)
    with serve.start(site) as running:
        started = time.monotonic()
        idle = raw(running, b"", timeout=8)
        assert idle == b"" and time.monotonic() - started < 6
        slow = raw(running, b"GET / HTTP/1.1\r\nHost: a\r\n", timeout=8)
        assert slow.startswith(b"HTTP/1.1 408 ")
        assert fetch(running, "/file").body == ELEVEN


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_cli_serves_until_sigterm_or_ctrl_c_and_exits_cleanly(site, sig):
    with subprocess.Popen([sys.executable, "-m", "mirror", "serve", str(site)], stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True) as proc:
        try:
            line = proc.stdout.readline()
            assert line.startswith(f"Serving {site} at http://127.0.0.1:"), line
            port = int(line.split("127.0.0.1:")[1].split("/")[0])
            assert fetch(("127.0.0.1", port), "/").body == PAGE
            proc.send_signal(sig)
            assert proc.wait(timeout=10) == 0
            assert "Traceback" not in proc.stderr.read()
        finally:
            if proc.poll() is None:
                proc.kill()


def test_cli_refuses_a_public_address_with_exit_status_1(site):
    result = subprocess.run([sys.executable, "-m", "mirror", "serve", str(site), "--host", "0.0.0.0"],
                            capture_output=True, text=True, timeout=30, env={**os.environ, "COLUMNS": "200"})
    assert result.returncode == 1
    assert "Error: refusing to serve on 0.0.0.0" in result.stderr and "Traceback" not in result.stderr


def test_a_new_build_swapped_in_is_served_without_a_restart(tmp_path):
    root = tmp_path / "site"
    write_site(root)
    with serve.start(root) as running:
        assert fetch(running, "/style.css").body != b"rebuilt\n"
        build.write_build(root, {"index.html": PAGE, "style.css": b"rebuilt\n"})
        deadline = time.monotonic() + 10
        while fetch(running, "/style.css").body != b"rebuilt\n" and time.monotonic() < deadline:
            time.sleep(0.2)
        assert fetch(running, "/style.css").body == b"rebuilt\n"
        assert fetch(running, "/about").status == 404


def test_the_access_log_is_off_by_default_and_never_has_addresses(site, caplog):
    with caplog.at_level(logging.DEBUG, logger="mirror.serve.access"):
        with serve.start(site) as running:
            fetch(running, "/about")
        assert not [r for r in caplog.records if r.name == "mirror.serve.access"]
        with serve.start(site, access_log=True) as running:
            fetch(running, "/about")
            fetch(running, "/missing")
    lines = [r.getMessage() for r in caplog.records if r.name == "mirror.serve.access"]
    assert lines == ["GET /about 200", "GET /missing 404"]


def test_if_none_match_is_evaluated_before_range(server):
    r = fetch(server, "/file", range="bytes=0-3", if_none_match=etag_of(ELEVEN))
    assert r.status == 304


def test_a_request_pipelined_behind_a_file_sent_from_disk_is_answered_after_it(server):
    data = request("/large.bin") + request("/file", headers={"Connection": "close"})
    responses = parse_all(raw(server, data, timeout=20))
    assert [r.status for r in responses] == [200, 200]
    assert responses[0].body == LARGE and responses[1].body == ELEVEN


def test_a_client_that_does_not_read_gets_no_more_answers_queued(server):
    """Flow control: 2,000 pipelined requests for a 27 KB page are not all answered into memory at once."""
    count = 2000
    with connect(server, timeout=30) as sock:
        sock.sendall(request("/") * count)
        time.sleep(1.0)
        (conn,) = [c for c in server._state.connections if c.transport.get_write_buffer_size() or c.buf]
        assert conn.transport.get_write_buffer_size() < 4 << 20
        received, reader = 0, sock.makefile("rb")
        for _ in range(count):
            received += read_response(reader).status == 200
    assert received == count


def test_the_csp_header_never_upgrades_requests_and_always_forbids_framing():
    from mirror.resources import csp_for

    built = "default-src 'none'; upgrade-insecure-requests; style-src 'self'; block-all-mixed-content"
    assert csp_for("text/html", built) == "default-src 'none'; style-src 'self'; frame-ancestors 'none'"
    own = csp_for("text/html", "default-src 'none'; frame-ancestors 'self'")
    assert own == "default-src 'none'; frame-ancestors 'self'"
    assert "frame-ancestors 'none'" in csp_for("image/png", None)


@pytest.mark.parametrize("host, family", [("::1", socket.AF_INET6), ("[::1]", socket.AF_INET6),
                                          ("localhost", socket.AF_INET)])
def test_ipv6_loopback_and_localhost_are_served(site, host, family):
    with serve.start(site, host=host) as running:
        address = "::1" if family == socket.AF_INET6 else "127.0.0.1"
        shown = "[::1]" if family == socket.AF_INET6 else "127.0.0.1"
        assert running.url == f"http://{shown}:{running.port}/"
        with socket.socket(family) as sock:
            sock.settimeout(5)
            sock.connect((address, running.port))
            sock.sendall(request("/file", headers={"Connection": "close"}))
            reply = sock.makefile("rb").read()
    assert parse_all(reply)[0].body == ELEVEN


def test_stop_is_prompt_and_clean_with_a_download_and_an_idle_connection_open(site):
    running = serve.start(site)
    downloading, idle = connect(running), connect(running)
    downloading.sendall(request("/large.bin"))  # never read: the file transfer stalls
    assert downloading.recv(100).startswith(b"HTTP/1.1 200 OK")
    started = time.monotonic()
    running.stop()
    assert time.monotonic() - started < 3
    assert not running._thread.is_alive()
    downloading.close()
    idle.close()
    with pytest.raises(OSError):
        connect(running, timeout=1)


def test_a_page_too_large_for_memory_is_still_sent_compressed_from_disk(tmp_path):
    """A single-document mirror is often megabytes of HTML: over Tor, 10x fewer bytes is 10x less waiting."""
    from mirror import resources

    words = " ".join(f"<p id=p{n}>Paragraph {n} of a long document, mostly text.</p>" for n in range(40_000))
    policy = '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'">'
    big = ("<!DOCTYPE html><head>" + policy + "<title>Big</title></head>" + words).encode()
    assert len(big) > resources.MEMORY_FILE_LIMIT
    build.write_build(tmp_path / "b", {"index.html": big}, {"index.html": "default-src 'none'"})
    with serve.start(tmp_path / "b") as running:
        for accept, coding, unpack in (("gzip, deflate, br", "br", brotli.decompress),
                                       ("gzip", "gzip", gzip.decompress), ("identity", None, bytes)):
            r = fetch(running, "/", accept_encoding=accept)
            assert r.status == 200 and r.header("content-encoding") == coding
            assert unpack(r.body) == big
            assert len(r.body) < len(big) / 10 or coding is None
        part = fetch(running, "/", accept_encoding="br", range="bytes=0-99")  # ranges: identity bytes
        assert part.status == 206 and part.header("content-encoding") is None and part.body == big[:100]
