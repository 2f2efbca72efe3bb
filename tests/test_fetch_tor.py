"""`mirror fetch --tor` on the session's private Tor network: a site published as an onion service (the
tests' server behind the network client's tor) is mirrored through a tor the crawl launches itself."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from mirror import keys, onion
from tests.conftest import ROOT
from tests.fetch_server import Server
from tests.fetch_site import make_site

pytestmark = pytest.mark.tor


def test_fetch_through_tor_mirrors_an_onion_site(testnet, tmp_path):
    make_site(tmp_path / "www", pages=5, assets_per_page=2)
    secret = keys.generate_secret_key()
    with Server({"": tmp_path / "www"}, default="") as server:
        service = onion.publish(testnet.controller, server.address, secret, timeout=60)
        try:
            address = f"{service}.onion"
            authorities = [arg for line in testnet.dir_authority_lines() for arg in ("--dir-authority", line)]
            done = subprocess.run([sys.executable, "-m", "mirror", "fetch", "--tor", *authorities,
                                   f"http://{address}/", "--dir", str(tmp_path / "crawl"), "--no-build"],
                                  cwd=ROOT, capture_output=True, text=True, timeout=110)
        finally:
            testnet.controller.remove_ephemeral_hidden_service(service)
        hits = dict(server.hits)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("5 page(s), 10 asset(s)"), done.stdout
    site = tmp_path / "crawl" / "site" / address
    for path in [p for p in (tmp_path / "www").rglob("*") if p.is_file() and "private" not in p.parts]:
        rel = path.relative_to(tmp_path / "www")
        if rel.name not in ("app.js", "robots.txt"):  # scripts are never fetched, robots.txt is read only
            assert (site / rel).read_bytes() == path.read_bytes(), rel
    assert {host for host, _ in hits} == {address}  # the server saw the onion name, so DNS went through tor
    assert max(hits.values()) == 1
    assert not running_with(str(tmp_path / "crawl" / "tor" / "torrc"))  # the crawl's tor is gone


def running_with(argument: str) -> list[Path]:
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            if argument.encode() in cmdline.read_bytes().split(b"\0"):
                found.append(cmdline)
        except OSError:
            continue
    return found
