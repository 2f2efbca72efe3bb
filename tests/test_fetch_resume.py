"""A crawl killed with SIGKILL (a real `mirror fetch` process) and run again finishes, downloads no finished
URL twice (counted at the server), and leaves the same files as a crawl that was never interrupted."""

from __future__ import annotations

import random
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mirror import fetch
from tests.conftest import ROOT
from tests.fetch_server import Server
from tests.fetch_site import make_site


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    root = tmp_path_factory.mktemp("www")
    make_site(root, pages=25, assets_per_page=3)
    with Server({"": root}, default="") as server:
        reference = tmp_path_factory.mktemp("reference")
        fetch.crawl(f"http://{server.address}/", reference)
        server.total = server.stats(reset=True)["requests"]
        yield server, reference / "site"


def cli(server: Server, folder: Path) -> list[str]:
    return [sys.executable, "-m", "mirror", "-q", "fetch", f"http://{server.address}/", "--dir", str(folder),
            "--no-build"]


def start_cli(server: Server, folder: Path) -> subprocess.Popen:
    return subprocess.Popen(cli(server, folder), cwd=ROOT, stdout=subprocess.DEVNULL)


def finish_cli(server: Server, folder: Path) -> subprocess.CompletedProcess:
    return subprocess.run(cli(server, folder), cwd=ROOT, capture_output=True, text=True, timeout=120)


def finished_in_state(folder: Path) -> int:
    path = folder / fetch.STATE
    if not path.exists():
        return -1
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)
    try:
        urls = db.execute("SELECT COUNT(*) FROM url WHERE state IN ('done', 'redirect', 'error')").fetchone()[0]
        robots = db.execute("SELECT COUNT(*) FROM meta WHERE key LIKE 'robots %'").fetchone()[0]
        return urls + robots
    except sqlite3.OperationalError:  # the schema is not there yet
        return -1
    finally:
        db.close()


def tree(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def wait_for(condition, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def test_sigkill_half_way_then_resume_downloads_nothing_twice(site, tmp_path):
    server, reference = site
    server.delay = 0.02
    crawl = start_cli(server, tmp_path)
    try:
        wait_for(lambda: server.stats()["requests"] >= server.total // 2)
        server.frozen.set()  # every request from now on waits unanswered and uncounted
        time.sleep(0.3)      # let responses already being written finish
        completed = sum(server.hits.values())
        wait_for(lambda: finished_in_state(tmp_path) == completed)  # the crawler stored all it received
        crawl.kill()
        crawl.wait()
    finally:
        server.frozen.clear()
        server.released.set()
        server.delay = 0.0
    assert 0 < completed < server.total
    assert not (tmp_path / "site").exists()
    resumed = finish_cli(server, tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    assert max(server.hits.values()) == 1, [k for k, n in server.hits.items() if n > 1]
    assert sum(server.hits.values()) == server.total
    assert tree(tmp_path / "site") == tree(reference)
    server.stats(reset=True)
    server.released.clear()


def test_sigkill_at_random_moments_never_corrupts_the_crawl(site, tmp_path):
    server, reference = site
    server.delay = 0.01
    seed = random.randrange(10**6)
    moments = random.Random(seed).sample(range(20, 80), 3)
    for percent in moments:
        crawl = start_cli(server, tmp_path)
        wait_for(lambda: server.stats()["requests"] >= server.total * percent // 100 or crawl.poll() is not None)
        time.sleep(random.Random(seed + percent).random() * 0.05)
        crawl.kill()
        crawl.wait()
    server.delay = 0.0
    finished = finish_cli(server, tmp_path)
    assert finished.returncode == 0, (seed, finished.stderr)
    assert tree(tmp_path / "site") == tree(reference), seed
    db = sqlite3.connect(tmp_path / fetch.STATE)
    assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    db.close()
    server.stats(reset=True)
