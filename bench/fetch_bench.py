"""Crawl one generated site (41 pages, 205 assets) with `mirror fetch`, `wget -m -k -p -E` and HTTrack.

The site is served on 127.0.0.1 by the tests' small server (tests/fetch_server.py) in a process of its
own, first adding 100 ms to every response (Tor-like latency), then with no delay. For each tool: wall
time, CPU time (the machine may be shared), requests and bytes served, connections opened and the most
open at once. Run:
``python -m bench.fetch_bench`` (``--quick`` skips HTTrack, ``--delays 0.1`` picks the delays).
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests.fetch_site import make_site

ROOT = Path(__file__).resolve().parents[1]
TIMEOUT = 900


def tools(url: str, out: Path) -> dict[str, list[str]]:
    return {
        "mirror fetch": [sys.executable, "-m", "mirror", "-q", "fetch", url, "--dir", str(out / "mirror"),
                         "--no-build"],
        "wget -m -k -p -E": ["wget", "-q", "-m", "-k", "-p", "-E", "-P", str(out / "wget"), url],
        "httrack": ["httrack", url, "-O", str(out / "httrack"), "-q"],
    }


def run(command: list[str], server: subprocess.Popen) -> dict:
    started, cpu = time.monotonic(), _children_cpu()
    try:
        done = subprocess.run(command, cwd=ROOT, capture_output=True, timeout=TIMEOUT)
        status = "ok" if done.returncode in (0, 8) else f"exit {done.returncode}"  # wget: 8 = some 404s
    except subprocess.TimeoutExpired:
        status = f"killed after {TIMEOUT} s"
    seconds, cpu = time.monotonic() - started, _children_cpu() - cpu
    server.stdin.write("stats\n")
    server.stdin.flush()
    return {"seconds": seconds, "cpu": cpu, "status": status, **json.loads(server.stdout.readline())}


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def bench(site: Path, delay: float, names: list[str]) -> dict[str, dict]:
    server = subprocess.Popen([sys.executable, "-m", "tests.fetch_server", str(site), "--delay", str(delay)],
                              cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        url = f"http://127.0.0.1:{server.stdout.readline().strip()}/"
        with tempfile.TemporaryDirectory(prefix="fetch-bench-") as out:
            commands = tools(url, Path(out))
            return {name: run(commands[name], server) for name in names}
    finally:
        server.stdin.close()
        server.wait(timeout=10)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.fetch_bench")
    parser.add_argument("--quick", action="store_true", help="mirror fetch and wget only")
    parser.add_argument("--delays", type=float, nargs="+", default=[0.1, 0.0])
    args = parser.parse_args(argv)
    names = [n for n in ("mirror fetch", "wget -m -k -p -E", "httrack")
             if shutil.which(n.split()[0]) or n == "mirror fetch"]
    names = names[:2] if args.quick else names
    with tempfile.TemporaryDirectory(prefix="fetch-site-") as tmp:
        size = make_site(Path(tmp))
        print(f"site: {size['pages']} pages, {size['assets']} assets, served by tests/fetch_server.py")
        for delay in args.delays:
            results = bench(Path(tmp), delay, names)
            print(f"\n{delay * 1000:.0f} ms added per response")
            print(f"{'tool':<18} {'wall s':>8} {'cpu s':>6} {'requests':>9} {'bytes':>11} {'conns':>6} "
                  f"{'max open':>9}  status")
            for name, r in results.items():
                print(f"{name:<18} {r['seconds']:>8.2f} {r['cpu']:>6.2f} {r['requests']:>9} {r['bytes']:>11,} "
                      f"{r['connections']:>6} {r['most_open']:>9}  {r['status']}")
            base = results["mirror fetch"]["seconds"]
            for name, r in results.items():
                if name != "mirror fetch":
                    print(f"mirror fetch is {r['seconds'] / base:.1f}x faster than {name}")


if __name__ == "__main__":
    main()
