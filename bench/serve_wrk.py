"""mirror serve vs nginx vs python -m http.server on one build directory, measured by wrk on loopback.

    python -m bench.serve_wrk [--seconds 10] [--connections 64] [--path /index.html]

All three serve the same build; one is measured at a time (the machine has two cores: wrk takes one).
Each gets a short warm-up run, then a measured run; the table gives requests/s, p50/p99 latency and
errors, then the issue's goals: >= 3x python -m http.server, >= 0.5x nginx, p99 <= 2x nginx's. On a
busy machine, ``--rounds 3`` interleaves the servers and compares medians.
"""

from __future__ import annotations

import argparse
import contextlib
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from mirror import build, nginx
from mirror.testnet import stop_process

ROOT = Path(__file__).resolve().parents[1]
UNITS = {"us": 1e-3, "ms": 1.0, "s": 1000.0}


def make_build(out: Path) -> Path:
    """The real seed page when site/ is there; otherwise a synthetic page of about 31 KB."""
    if (ROOT / "site" / "site.toml").exists():
        build.build_site(ROOT / "site", out)
    else:
        body = "".join(f"<p>Paragraph {i}: {'a mirror readers can read without a clickstream. ' * 3}</p>\n"
                       for i in range(190))
        page = f'<!doctype html><html lang="en"><meta charset="utf-8"><title>Bench</title>{body}</html>'
        build.write_build(out, {"index.html": page.encode()}, {})
    return out


def wait_for(port: int, proc: subprocess.Popen | None = None, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"{proc.args} exited with status {proc.returncode}")
        with contextlib.suppress(OSError):
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        time.sleep(0.05)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port} after {timeout} s")


@contextlib.contextmanager
def process(args: list[str], port: int):
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for(port, proc)
        yield f"http://127.0.0.1:{port}"
    finally:
        stop_process(proc, grace=10)


@contextlib.contextmanager
def mirror_server(root: Path):
    port = nginx.free_port("127.0.0.1")
    with process([sys.executable, "-m", "mirror", "serve", str(root), "--port", str(port)], port) as url:
        yield url


@contextlib.contextmanager
def nginx_server(root: Path):
    with nginx.start(root) as server:
        yield server.url.rstrip("/")


@contextlib.contextmanager
def http_server(root: Path):
    port = nginx.free_port("127.0.0.1")
    args = [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1", "--directory", str(root)]
    with process(args, port) as url:
        yield url


def wrk(url: str, seconds: float, connections: int) -> dict:
    args = ["wrk", "-t2", f"-c{connections}", f"-d{seconds:g}s", "--latency", "--timeout", "5s", url]
    out = subprocess.run(args, capture_output=True, text=True, check=True, timeout=seconds + 60).stdout
    return parse_wrk(out)


def parse_wrk(out: str) -> dict:
    def latency(label: str) -> float:
        value, unit = re.search(rf"^\s+{label}\s+([\d.]+)(us|ms|s)\s*$", out, re.M).groups()
        return float(value) * UNITS[unit]

    errors = sum(int(n) for n in re.findall(r"(?:connect|read|write|timeout) (\d+)", out))
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
            "requests": int(re.search(r"(\d+) requests in", out).group(1)),
            "p50": latency("50%"), "p99": latency("99%"),
            "errors": errors + (int(non_2xx.group(1)) if non_2xx else 0)}


def measure(name: str, base: str, path: str, seconds: float, connections: int) -> dict:
    wrk(base + path, min(2.0, seconds), connections)  # warm-up
    result = wrk(base + path, seconds, connections)
    print(f"{name:<22} {result['rps']:>10,.0f} {result['p50']:>9.2f} {result['p99']:>9.2f} "
          f"{result['errors']:>7}", flush=True)
    return result


def median_of(runs: list[dict]) -> dict:
    return {key: statistics.median(run[key] for run in runs) for key in runs[0]}


SERVERS = (("mirror serve", mirror_server), ("nginx (mirror config)", nginx_server),
           ("python -m http.server", http_server))


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--path", default="/index.html")
    parser.add_argument("--rounds", type=int, default=1, help="Measure each server this many times, "
                        "interleaved (fairer on a busy machine), and compare the medians.")
    args = parser.parse_args(argv)
    if not shutil.which("wrk"):
        print("wrk is not installed (tools/system-deps bench installs it); skipping.")
        return {}
    with tempfile.TemporaryDirectory(prefix="mirror-bench-") as tmp, contextlib.ExitStack() as running:
        Path(tmp).chmod(0o755)  # nginx's workers (nobody, when run as root) read the build
        root = make_build(Path(tmp) / "site")
        size = (root / args.path.lstrip("/")).stat().st_size
        bases = {name: running.enter_context(server(root)) for name, server in SERVERS}
        print(f"wrk -t2 -c{args.connections} -d{args.seconds:g}s on 127.0.0.1, "
              f"GET {args.path} ({size:,} bytes), {args.rounds} round(s)")
        print(f"{'server':<22} {'req/s':>10} {'p50 ms':>9} {'p99 ms':>9} {'errors':>7}")
        runs: dict[str, list[dict]] = {name: [] for name in bases}
        for _ in range(args.rounds):
            for name, base in bases.items():
                runs[name].append(measure(name, base, args.path, args.seconds, args.connections))
    results = {name: median_of(found) for name, found in runs.items()}
    ours, ng, py = results["mirror serve"], results["nginx (mirror config)"], results["python -m http.server"]
    label = "medians: " if args.rounds > 1 else ""
    print(f"{label}mirror/http.server throughput: {ours['rps'] / py['rps']:.1f}x (goal >= 3x)")
    print(f"{label}mirror/nginx throughput:       {ours['rps'] / ng['rps']:.2f}x (goal >= 0.5x)")
    print(f"{label}mirror/nginx p99:              {ours['p99'] / ng['p99']:.2f}x (goal <= 2x)")
    return results


if __name__ == "__main__":
    main()
