"""`mirror onion --testnet` measured: start to reachable, fetches through the private network, memory.

    python -m bench.onion_bench [--runs 3] [--fetches 10]

Each run starts the real command (a private Tor network of 1 authority + 3 relays + a client, the
service's tor and the server), times it from launch to its "Reachable at" line (it prints that only after
a fetch through the network's client succeeded), then fetches the page ``--fetches`` times through the
client's SOCKS port, beside the same fetches straight from the server's unix socket, and sums the
resident memory of every tor. Goals (issue 5): reachable <= 20 s; the issue measured ~9 ms per repeat
fetch and 100-150 MB for all the tors.
"""

from __future__ import annotations

import argparse
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

from bench.serve_wrk import make_build
from mirror.testnet import rss_bytes

ROOT = Path(__file__).resolve().parents[1]


def children(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(stat.parent.name))
        except (OSError, IndexError, ValueError):
            continue
    return found


def one_run(site: Path, fetches: int) -> dict:
    began = time.monotonic()
    cli = subprocess.Popen([sys.executable, "-m", "mirror", "onion", "--testnet", str(site)], cwd=ROOT, text=True,
                           stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    try:
        out = ""
        while "Ctrl-C stops." not in out:
            line = cli.stdout.readline()
            if not line:
                raise RuntimeError("mirror onion --testnet ended early")
            if line.startswith("Reachable at"):
                reachable = time.monotonic() - began
            out += line
        socks, url = re.search(r"--socks5-hostname 127\.0\.0\.1:(\d+) (\S+)", out).groups()
        proxies = {"http": f"socks5h://127.0.0.1:{socks}"}
        onion = timed_fetches(lambda: requests.get(url, proxies=proxies, timeout=30).content, fetches)
        with requests.Session() as session:  # a browser keeps its connection open
            kept = timed_fetches(lambda: session.get(url, proxies=proxies, timeout=30).content, fetches)
        tors = {pid: Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0") for pid in children(cli.pid)}
        service = [Path(args[2].decode()) for args in tors.values() if args[2].endswith(b"/service/tor/torrc")]
        direct = timed_fetches(lambda: unix_get(service[0].parents[1] / "http.sock"), fetches) if service else []
        memory = sum(rss_bytes(pid) for pid in tors if tors[pid][0].endswith(b"tor"))
    finally:
        stopping = time.monotonic()
        cli.send_signal(signal.SIGTERM)
        status = cli.wait(30)
        cli.stdout.close()
    return {"reachable": reachable, "onion": onion, "kept": kept, "direct": direct, "tors": len(tors), "memory": memory,
            "stop": time.monotonic() - stopping, "status": status}


def timed_fetches(fetch, count: int) -> list[float]:
    times = []
    for _ in range(count):
        start = time.perf_counter()
        fetch()
        times.append(time.perf_counter() - start)
    return times


def unix_get(path: Path) -> bytes:
    with socket.socket(socket.AF_UNIX) as s:
        s.connect(str(path))
        s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        chunks = []
        while chunk := s.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def ms(values: list[float]) -> str:
    return f"{statistics.median(values) * 1000:8.1f}" if values else "       -"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.onion_bench")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--fetches", type=int, default=10)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        site = make_build(Path(tmp) / "site")
        size = (site / "index.html").stat().st_size
        print(f"page: {size:,} bytes; {args.runs} run(s) of `mirror onion --testnet`, {args.fetches} fetches each")
        print(f"{'run':>3} {'reachable s':>11} {'onion ms':>9} {'kept ms':>8} {'direct ms':>9} {'pids':>4} {'tor MB':>7} "
              f"{'stop s':>6} {'exit':>4}")
        results = []
        for run in range(1, args.runs + 1):
            r = one_run(site, args.fetches)
            results.append(r)
            print(f"{run:>3} {r['reachable']:11.1f} {ms(r['onion'])} {ms(r['kept'])} {ms(r['direct'])} {r['tors']:>4} "
                  f"{r['memory'] / 1e6:7.0f} {r['stop']:6.1f} {r['status']:>4}", flush=True)
    reach = statistics.median(r["reachable"] for r in results)
    onion = statistics.median(t for r in results for t in r["onion"]) * 1000
    kept = statistics.median(t for r in results for t in r["kept"]) * 1000
    memory = statistics.median(r["memory"] for r in results) / 1e6
    print(f"median: reachable {reach:.1f} s (goal <= 20 s), fetch through the testnet {onion:.1f} ms "
          f"(median of {args.fetches * args.runs}; {kept:.1f} ms on a kept connection), all tors {memory:.0f} MB")
    print("onion ms: a new SOCKS stream per fetch; kept ms: one keep-alive connection; direct ms: the server's "
          "unix socket, no tor. The machine's load shows in every figure: run it when idle.")


if __name__ == "__main__":
    main(sys.argv[1:])
