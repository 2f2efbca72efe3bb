"""The nginx engine: Debian's nginx with mirror's config answers like the embedded server."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pytest

from mirror import nginx, serve
from tests.conftest import need_program
from tests.servekit import ELEVEN, PAGE, fetch, write_site

COMPARED = ("content-type", "cache-control", "content-security-policy", "x-content-type-options",
            "referrer-policy", "x-frame-options", "cross-origin-resource-policy", "etag", "vary",
            "content-encoding", "location", "content-range", "last-modified")
REQUESTS = [
    ("/", {}), ("/index.html", {}), ("/about", {}), ("/docs/", {}), ("/style.css", {}), ("/pixel.png", {}),
    ("/file", {}), ("/large.bin", {"range": "bytes=10-19"}), ("/no/such/page", {}), ("/404.html", {}),
    ("/", {"accept_encoding": "gzip, deflate, br"}), ("/", {"accept_encoding": "gzip"}),
    ("/style.css", {"accept_encoding": "br;q=0, gzip"}), ("/file", {"range": "bytes=0-3"}),
    ("/file", {"range": "bytes=-3"}), ("/.mirror/manifest.json", {}), ("/.htpasswd", {}),
    ("/docs/.env", {}), ("/big.txt", {"accept_encoding": "gzip, br"}), ("/big.txt", {"accept_encoding": "gzip"}),
    ("/big.txt", {"accept_encoding": "gzip", "range": "bytes=5-9"}),
]
HOSTILE = ["/%2e%2e/secret.txt", "/../secret.txt", "/%252e%252e/secret.txt", "/..%5csecret.txt",
           "//secret.txt", "/docs/..%2f..%2fsecret.txt", "/%c0%ae%c0%ae/secret.txt",
           "/.mirror/gz/index.html.gz"]


@pytest.fixture(scope="module")
def site():
    need_program("nginx")
    base = Path(tempfile.mkdtemp(prefix="mirror-nginx-test-"))
    base.chmod(0o755)  # as root, nginx's workers run as nobody and must be able to read the build
    root = base / "site"
    write_site(root)
    (base / "secret.txt").write_bytes(b"TOPSECRET")
    (root / ".htpasswd").write_bytes(b"TOPSECRET")
    (root / "docs" / ".env").write_bytes(b"TOPSECRET")
    yield root
    shutil.rmtree(base)


@pytest.fixture(scope="module")
def both(site):
    with serve.start(site) as embedded, nginx.start(site) as engine:
        yield embedded, engine


def test_nginx_answers_like_the_embedded_server(both):
    embedded, engine = both
    for path, headers in REQUESTS:
        ours, theirs = fetch(embedded, path, **headers), fetch(engine, path, **headers)
        assert ours.status == theirs.status, path
        assert ours.body == theirs.body, path
        for name in COMPARED:
            assert ours.header(name) == theirs.header(name), (path, headers, name)
        assert b"TOPSECRET" not in theirs.body


def test_nginx_refuses_what_the_embedded_server_refuses(both):
    """Both give a 4xx (nginx with its own error page) and neither leaks the file beside the build."""
    for path in HOSTILE:
        for server in both:
            r = fetch(server, path)
            assert 400 <= r.status < 500 and b"TOPSECRET" not in r.body, (path, server)


def test_nginx_revalidates_by_content_hash(both):
    _, engine = both
    tag = fetch(engine, "/").header("etag")
    assert fetch(engine, "/", if_none_match=tag).status == 304
    assert fetch(engine, "/file", if_none_match=fetch(engine, "/file").header("etag")).status == 304
    assert fetch(engine, "/", if_none_match='"other"').status == 200


def test_nginx_identifies_no_version_and_refuses_other_methods(both):
    embedded, engine = both
    r = fetch(engine, "/", "POST")
    assert r.status == 405 and r.header("allow") == "GET, HEAD"
    assert fetch(engine, "/").header("server") == "nginx"
    assert "server" not in fetch(embedded, "/").headers


def test_nginx_config_is_hardened_and_uses_only_its_state_folder(both):
    _, engine = both
    conf = (engine.state / "nginx.conf").read_text()
    for directive in ("access_log off;", "server_tokens off;", "etag off;", "disable_symlinks on;",
                      "autoindex off;", f"listen 127.0.0.1:{engine.port};"):
        assert directive in conf
    assert "/etc/nginx" not in conf and "include" not in conf
    assert not [p for p in engine.state.rglob("*") if p.suffix == ".log"]


def test_nginx_on_a_unix_socket_and_its_state_is_removed(site, tmp_path):
    path = tmp_path / "nginx.sock"
    with nginx.start(site, socket_path=path) as engine:
        assert engine.url is None and fetch(engine, "/file").body == ELEVEN
        assert oct(path.stat().st_mode & 0o777) == "0o660"
        state = engine.state
    assert not path.exists() and not state.exists()


def test_nginx_refuses_public_addresses_like_the_embedded_server(site):
    with pytest.raises(serve.ServeError, match="not a loopback address"):
        nginx.start(site, host="0.0.0.0")


def test_the_serve_entry_point_runs_nginx(site, tmp_path):
    """serve_forever(engine="nginx") is what `mirror serve --engine nginx` calls; ready() sees it live."""
    seen = []

    def ready(server):
        seen.append(fetch(server, "/").body)
        raise KeyboardInterrupt  # leave serve_forever as Ctrl-C would

    with pytest.raises(KeyboardInterrupt):
        serve.serve_forever(site, engine="nginx", ready=ready)
    assert seen == [PAGE]


def test_options_nginx_cannot_honour_are_refused(site):
    with pytest.raises(serve.ServeError, match="--access-log works with the embedded server only"):
        serve.serve_forever(site, engine="nginx", access_log=True)
    with pytest.raises(serve.ServeError, match="unknown engine"):
        serve.serve_forever(site, engine="apache")


def test_nginx_redirects_a_directory_and_answers_head_like_the_embedded_server(both):
    for server in both:
        r = fetch(server, "/docs")
        assert (r.status, r.header("location")) == (301, "/docs/")
        assert r.header("x-frame-options") == "DENY"
    ours, theirs = (fetch(server, "/style.css", "HEAD") for server in both)
    assert ours.body == theirs.body == b""
    assert all(ours.header(name) == theirs.header(name) for name in COMPARED + ("content-length",))


@pytest.mark.parametrize("host", ["localhost", "::1"])
def test_nginx_listens_on_localhost_and_ipv6_loopback(site, host):
    with nginx.start(site, host=host) as engine:
        address = "::1" if host == "::1" else "127.0.0.1"
        assert engine.url == f"http://{'[::1]' if host == '::1' else '127.0.0.1'}:{engine.port}/"
        assert fetch((address, engine.port), "/file").body == ELEVEN


def test_nginx_ends_when_mirror_is_killed_outright(site):
    """SIGKILL leaves mirror no chance to stop nginx: the kernel's parent-death signal does it."""
    import os
    import signal
    import subprocess
    import sys
    import time

    from tests.tor_fixtures import children

    cli = subprocess.Popen([sys.executable, "-m", "mirror", "serve", "--engine", "nginx", str(site)],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert "Serving" in cli.stdout.readline(), cli.stderr.read()
        masters = children(cli.pid)
        assert [Path(f"/proc/{pid}/comm").read_text().strip() for pid in masters] == ["nginx"]
    finally:
        cli.kill()
        cli.wait(5)
        cli.stdout.close()
        cli.stderr.close()
    deadline = time.monotonic() + 5
    while running(masters[0]) and time.monotonic() < deadline:
        time.sleep(0.05)
    alive = running(masters[0])
    if alive:
        os.kill(masters[0], signal.SIGKILL)
    assert not alive, "nginx outlived the mirror that started it"


def running(pid: int) -> bool:
    """Alive and not a zombie (an orphan's zombie waits for whoever reaps in this container)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except OSError:
        return False
