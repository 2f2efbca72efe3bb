"""Hostile input: the shared corpus of malformed requests, and path traversal in every encoding."""

from __future__ import annotations

import base64
import json
import os
import shutil
import time
from pathlib import Path

import pytest

from mirror import http, serve
from tests.conftest import need_shared
from tests.servekit import ELEVEN, PAGE, fetch, parse_all, raw, write_site

SECRET = b"TOPSECRET-beside-the-build"
HIDDEN = b"TOPSECRET-dotfile-inside"


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    base = tmp_path_factory.mktemp("hostile")
    root = base / "site"
    write_site(root)
    (base / "secret.txt").write_bytes(SECRET)
    (root / ".htpasswd").write_bytes(HIDDEN)
    (root / "docs" / ".env").write_bytes(HIDDEN)
    os.symlink(base / "secret.txt", root / "leak.txt")
    os.symlink(base, root / "up")
    return root


@pytest.fixture(scope="module")
def server(site):
    with serve.start(site) as running:
        yield running


def corpus_cases():
    data = json.loads(need_shared("corpora/http/bad_http_requests.json").read_text(encoding="utf-8"))
    assert data["count"] == len(data["cases"]) == 205
    return data["cases"]


def expected_statuses(expect: str) -> set[int]:
    if expect == "reject-or-ignore-trailing":
        return {200} | set(range(400, 500))
    if expect.startswith("reject (501)"):
        return {501}
    if expect.startswith("reject"):
        return set(range(400, 500))
    if expect == "not-200":
        return set(range(300, 500)) - {200}
    # Go's range behaviour: we send 206 for a satisfiable single range, 416 for a malformed or
    # unsatisfiable one, and the whole file (200) when several ranges are asked for or the set is empty.
    return {200, 206, 416}


def test_every_malformed_request_of_the_corpus_is_refused_and_the_server_keeps_serving(server):
    failures = []
    for case in corpus_cases():
        data = base64.b64decode(case["raw_b64"])
        wanted = expected_statuses(case["expect"])
        refused = not wanted & {200, 206, 416}
        # A refused request must end the connection; a served one may keep it open for the next request.
        got = raw(server, data, timeout=5) if refused else raw(server, data, timeout=5, settle=0.2)
        responses = parse_all(got)
        status = responses[0].status if responses else None
        if status not in wanted or len(responses) != 1 or (refused and b"<<TIMEOUT>>" in got):
            failures.append((case["raw_repr"][:80], case["expect"], status, len(responses), got[-40:]))
        if "Connection: close\\r\\n\\r\\nInvalid" in case["raw_repr"]:
            assert status == 200 and len(responses) == 1  # the trailing bytes were not read as a request
    assert not failures, "\n".join(map(repr, failures))
    assert fetch(server, "/").body == PAGE
    deadline = time.monotonic() + 5
    while server._state.connections and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not server._state.connections, "connections left open after the corpus"


def test_go_range_cases_match_the_rfc(server):
    """The corpus's Go cases on the 11-byte /file, with this server's statuses (see http.byte_range)."""
    cases = {"bytes=0-,1-,2-,3-,4-": 200, "bytes=11-": 416, "bytes=100-1000": 416, "bytes=0-0,-2": 200,
             "bytes=": 200, "bytes=-6-": 416, "bytes=---0": 416}
    for spec, status in cases.items():
        assert fetch(server, "/file", range=spec).status == status, spec


def test_the_request_head_limit_is_enforced(server):
    long_line = b"GET /" + b"a" * http.MAX_HEAD + b" HTTP/1.1\r\nHost: a\r\n\r\n"
    assert parse_all(raw(server, long_line))[0].status == 414
    many = b"GET / HTTP/1.1\r\nHost: a\r\n" + b"X-A: b\r\n" * 100 + b"\r\n"
    assert parse_all(raw(server, many))[0].status == 431


TRAVERSALS = [
    "/../secret.txt", "/../../secret.txt", "/..%2fsecret.txt", "/%2e%2e/secret.txt", "/%2e%2e%2fsecret.txt",
    "/%2E%2E/secret.txt", "/.%2e/secret.txt", "/%252e%252e/secret.txt", "/%252e%252e%252fsecret.txt",
    "/..%5csecret.txt", "/%5c..%5csecret.txt", "/..%255csecret.txt", "/%c0%ae%c0%ae/secret.txt",
    "/%c0%ae%c0%ae%c0%afsecret.txt", "/%e0%80%ae%e0%80%ae/secret.txt", "/..%c0%afsecret.txt",
    "/%uff0e%uff0e/secret.txt", "/%ef%bc%8e%ef%bc%8e/secret.txt", "/./../secret.txt", "//../secret.txt",
    "/docs/../../secret.txt", "/docs/%2e%2e/%2e%2e/secret.txt", "/..;/secret.txt", "/..%00/secret.txt",
    "/secret.txt%00.html", "/index.html%00", "/%00", "/leak.txt", "/up/secret.txt", "/up/site/index.html",
    "/.htpasswd", "/%2ehtpasswd", "/docs/.env", "/.mirror/manifest.json", "/%2emirror/manifest.json",
    "/.mirror/gz/index.html.gz", "/.mirror/br/index.html.br", "/.mirror/", "/.mirror", "//secret.txt",
    "/.%2e/.%2e/secret.txt", "/docs/..%2f..%2fsecret.txt", "/index.html/../../secret.txt",
]
RAW_TRAVERSALS = [
    b"GET ../secret.txt HTTP/1.1\r\nHost: a\r\n\r\n",
    b"GET secret.txt HTTP/1.1\r\nHost: a\r\n\r\n",
    b"GET \\..\\secret.txt HTTP/1.1\r\nHost: a\r\n\r\n",
    b"GET /..\\secret.txt HTTP/1.1\r\nHost: a\r\n\r\n",
    b"GET /..\x00/secret.txt HTTP/1.1\r\nHost: a\r\n\r\n",
    b"GET http://a/../secret.txt HTTP/1.1\r\nHost: a\r\n\r\n",
    b"GET //host/../secret.txt HTTP/1.1\r\nHost: a\r\n\r\n",
    b"GET /\xc0\xae\xc0\xae/secret.txt HTTP/1.1\r\nHost: a\r\n\r\n",
    b"GET /../secret.txt HTTP/1.0\r\n\r\n",
]


def assert_nothing_leaks(where, site: Path):
    absolute = str(site.parent / "secret.txt")
    paths = TRAVERSALS + [absolute, "/" + absolute, absolute.replace("/", "%2f")]
    for path in paths:
        r = fetch(where, path)
        assert r.status in (301, 400, 404), path
        assert SECRET not in r.body and HIDDEN not in r.body and b'"files"' not in r.body, path
    for data in RAW_TRAVERSALS:
        got = raw(where, data)
        assert got.startswith(b"HTTP/1.1 4"), data
        assert SECRET not in got and HIDDEN not in got, data


def test_no_encoding_of_a_path_reaches_outside_the_build_or_a_dotfile(server, site):
    assert_nothing_leaks(server, site)
    assert fetch(server, "/file").body == ELEVEN  # the server is still fine


def test_nothing_leaks_from_a_directory_without_manifest_either(site, tmp_path):
    plain = tmp_path / "site"
    shutil.copytree(site, plain, symlinks=True, ignore=shutil.ignore_patterns(".mirror"))
    shutil.copy(site.parent / "secret.txt", tmp_path / "secret.txt")
    with serve.start(plain) as running:
        assert_nothing_leaks(running, plain)
        assert fetch(running, "/index.html").body == PAGE


def test_a_symlinked_file_listed_in_the_manifest_is_not_served(tmp_path):
    root = tmp_path / "site"
    write_site(root)
    (tmp_path / "secret.txt").write_bytes(SECRET)
    (root / "about").unlink()
    os.symlink(tmp_path / "secret.txt", root / "about")
    with serve.start(root) as running:
        r = fetch(running, "/about")
    assert r.status == 404 and SECRET not in r.body


def test_a_tampered_manifest_cannot_name_files_outside_or_hidden(tmp_path):
    root = tmp_path / "site"
    write_site(root)
    (tmp_path / "secret.txt").write_bytes(SECRET)
    (root / ".htpasswd").write_bytes(HIDDEN)
    os.symlink(tmp_path, root / "up")
    manifest_path = root / ".mirror" / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    outside = "/" + str(tmp_path / "secret.txt")
    for rel in ("../secret.txt", ".htpasswd", "docs/../../secret.txt", "up/secret.txt", outside):
        manifest["files"][rel] = {"type": "text/plain"}
    manifest_path.write_text(json.dumps(manifest))
    with serve.start(root) as running:
        for path in ("/../secret.txt", "/.htpasswd", "/up/secret.txt", "//" + str(tmp_path / "secret.txt"),
                     "/docs/../../secret.txt"):
            r = fetch(running, path)
            assert r.status in (400, 404) and SECRET not in r.body and HIDDEN not in r.body, path
