"""A balanced mirror on a private Tor network (3 authorities + 4 relays, 20 s voting): time from Onionbalance's
start to a reachable frontend, the share of isolated fetches each of two backends served, and fetches while
one backend is down (failed, median, longest), side by side.

    python -m bench.balance [FAILOVER_SECONDS]
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

from mirror import balance, balancer, keys, onion
from mirror.build import build_site
from mirror.testnet import Testnet
from tests.balance_scenario import RendezvousCount, await_intro_points, fetch, fetch_many, intro_points

ROOT = Path(__file__).resolve().parents[1]
FETCHES = 40


def until_reachable(url: str, socks_port: int, within: float = 180) -> None:
    began = time.monotonic()
    while time.monotonic() - began < within:
        try:
            if fetch(url, socks_port, f"first{time.monotonic()}", timeout=20).status_code == 200:
                return
        except OSError:
            pass
        time.sleep(0.5)
    raise SystemExit(f"{url} did not answer within {within:g} s")


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    failover_seconds = float(argv[0]) if argv else 60
    with tempfile.TemporaryDirectory() as tmp, Testnet(3, 4, voting_interval=20) as net:
        root = Path(tmp)
        site = build_site(ROOT / "site", root / "site").out
        plan = balance.init(root / "balance", new_backends=2)
        backends = [onion.OnionMirror(site, root / b.name, key_file=b.hs_dir / keys.SECRET_FILE,
                                      network=net.tor_options(), balance_backend=plan.frontend, timeout=90)
                    for b in plan.backends]
        try:
            for mirror in backends:
                mirror.start()
            counts = [RendezvousCount(m.tor.controller) for m in backends]
            url = f"http://{plan.frontend}/"
            with balancer.Balancer(plan.config_file, control_socket=net.client.control_socket) as ob:
                began = time.monotonic()
                uploaded = ob.start().seconds
                until_reachable(url, net.socks_port)
                reachable = time.monotonic() - began
                both_in = reachable + await_intro_points(net.controller, plan.frontend, 4, within=120)
                both = fetch_many(url, net.socks_port, "both", count=FETCHES)
                time.sleep(1)
                served = [c.count for c in counts]
                backends[0].close()
                down = fetch_many(url, net.socks_port, "down", for_seconds=failover_seconds)
                left = intro_points(net.controller, plan.frontend)
        finally:
            for mirror in backends:
                mirror.close()
    print(f"Onionbalance start -> first frontend upload {uploaded:.1f} s, -> reachable frontend {reachable:.1f} s, "
          f"-> both backends in its descriptor {both_in:.1f} s")
    print(f"{'':28}{'fetches':>8}{'failed':>8}{'median s':>10}{'longest s':>11}")
    for name, run in (("both backends up", both), (f"backend-1 down ({failover_seconds:g} s)", down)):
        print(f"{name:28}{run.total:8}{run.failed:8}{run.median:10.2f}{run.longest:11.2f}")
    print(f"introduction points in the frontend descriptor {failover_seconds:g} s after backend-1 stopped: {left} "
          "(4 = both backends, 2 = Onionbalance dropped the stopped one)")
    total = sum(served) or 1
    print("share served (rendezvous circuits): " + ", ".join(
        f"{b.name} {n} ({n / total:.0%})" for b, n in zip(plan.backends, served)))


if __name__ == "__main__":
    main()
