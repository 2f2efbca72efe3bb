"""Bounded load: `mirror serve` under wrk at 64 and 256 connections, zero errors, resident memory reported.

Each run lasts MIRROR_LOAD_SECONDS (default 30, as the issue asks); the whole file stays near 65 s.
The server runs as its own process (the CLI), so its memory is measured alone.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from bench.serve_wrk import parse_wrk
from tests.conftest import need_program
from tests.servekit import fetch, write_site

SECONDS = int(os.environ.get("MIRROR_LOAD_SECONDS", "30"))
RSS_GROWTH_LIMIT_MB = 64
ROTATE = """
local paths = {"/", "/about", "/style.css", "/docs/", "/file", "/pixel.png"}
local codings = {"gzip, deflate, br", "identity", "gzip"}
local i = 0
request = function()
  i = i + 1
  return wrk.format("GET", paths[i % #paths + 1], {["Accept-Encoding"] = codings[i % #codings + 1]})
end
"""


def rss_mb(pid: int) -> float:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(re.search(r"^VmRSS:\s+(\d+) kB", status, re.M).group(1)) / 1024


def run_wrk(wrk: str, url: str, script: Path, connections: int, seconds: int) -> tuple[dict, str]:
    args = [wrk, "-t2", f"-c{connections}", f"-d{seconds}s", "--timeout", "5s", "--latency",
            "-s", str(script), url]
    out = subprocess.run(args, capture_output=True, text=True, check=True, timeout=seconds + 60).stdout
    return parse_wrk(out), out


@pytest.fixture
def cli_server(tmp_path):
    need_program("wrk")
    root = tmp_path / "site"
    write_site(root)
    with subprocess.Popen([sys.executable, "-m", "mirror", "serve", str(root)], stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True) as proc:
        try:
            line = proc.stdout.readline()
            url = line.split(" at ")[1].split(" ")[0]
            yield proc, url
        finally:
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(timeout=15) == 0


def test_load_at_64_and_256_connections_has_no_errors_and_bounded_memory(cli_server, tmp_path, capsys):
    wrk = need_program("wrk")
    proc, url = cli_server
    script = tmp_path / "rotate.lua"
    script.write_text(ROTATE)
    run_wrk(wrk, url, script, 64, 1)  # warm-up: lazily built things exist from here on
    report = []
    baseline = rss_mb(proc.pid)
    for connections in (64, 256):
        result, out = run_wrk(wrk, url, script, connections, SECONDS)
        growth = rss_mb(proc.pid) - baseline
        report.append(f"{connections} connections, {SECONDS} s: {result['requests']} requests, "
                      f"{result['rps']:,.0f} req/s, p99 {result['p99']:.1f} ms, errors {result['errors']}, "
                      f"RSS {baseline:.1f} MB -> {baseline + growth:.1f} MB (+{growth:.1f} MB)")
        assert result["errors"] == 0, out
        assert result["requests"] > 0
        assert growth < RSS_GROWTH_LIMIT_MB, report
    with capsys.disabled():
        print("\n" + "\n".join(report))
    assert fetch(("127.0.0.1", int(url.rsplit(":", 1)[1].strip("/"))), "/file").status == 200
