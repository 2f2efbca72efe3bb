"""Onionbalance for real: two `mirror onion --balance-backend` backends behind one frontend run by
`mirror balance run`, and `mirror onion --pow`, on ONE private Tor network of this module's own (3 authorities
+ 4 relays, 20 s voting: what Onionbalance's --is-testnet assumes). Run alone with ``-m balance``.

The figures (time to a reachable frontend, failover, share per backend) are printed; ``-s`` shows them.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest
import requests

from mirror import balance, balancer, keys, onion, pow
from mirror.build import build_site
from mirror.errors import BalanceError
from tests.conftest import ROOT, missing, need_program
from tests.balance_scenario import RendezvousCount, await_intro_points, fetch, fetch_many
from tests.tor_fixtures import CLI, children

pytestmark = [pytest.mark.tor, pytest.mark.balance]

FETCHES = 16  # isolated fetches while both backends are up: P(all on one backend) = 2 * 2**-16
FAILOVER_SECONDS = 30


@pytest.fixture(scope="module")
def net():
    need_program("tor")
    need_program("tor-gencert")
    try:
        balancer.find_onionbalance()
    except BalanceError as e:
        missing(str(e))
    from mirror.testnet import Testnet

    with Testnet(authorities=3, relays=4, voting_interval=20) as network:
        yield network


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    return build_site(ROOT / "site", tmp_path_factory.mktemp("build") / "site").out


@pytest.fixture(scope="module")
def balanced(net, site, tmp_path_factory):
    """Two backends published, then `mirror balance run` (the CLI, as a user runs it) until the frontend
    answers; yields what the tests need, with the seconds from the command to the first page."""
    root = tmp_path_factory.mktemp("balanced")
    plan = balance.init(root / "balance", new_backends=2)
    backends = []
    try:
        for backend in plan.backends:
            mirror = onion.OnionMirror(site, root / backend.name, key_file=backend.hs_dir / keys.SECRET_FILE,
                                       network=net.tor_options(), balance_backend=plan.frontend, timeout=90)
            backends.append(mirror)
            mirror.start()
            assert mirror.published.address == backend.address
        counts = [RendezvousCount(m.tor.controller) for m in backends]
        began = time.monotonic()
        cli = subprocess.Popen([sys.executable, *CLI, "balance", "run", "--config",
                                str(plan.config_file), "--control-socket", str(net.client.control_socket),
                                "--timeout", "120"],
                               cwd=ROOT, text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            url = f"http://{plan.frontend}/"
            page = first_page(url, net.socks_port, cli, within=150)
            seconds = time.monotonic() - began
            both = await_intro_points(net.controller, plan.frontend, 2 * len(backends), within=90)
            print(f"\n[balance] `mirror balance run` to a reachable frontend: {seconds:.1f} s; "
                  f"to a frontend descriptor with both backends: {seconds + both:.1f} s")
            yield dict(plan=plan, url=url, socks=net.socks_port, page=page, backends=backends, counts=counts,
                       cli=cli, seconds=seconds)
        finally:
            stop_cli(cli)
    finally:
        for mirror in backends:
            mirror.close()


def first_page(url: str, socks_port: int, cli: subprocess.Popen, within: float) -> requests.Response:
    deadline = time.monotonic() + within
    attempt = 0
    while time.monotonic() < deadline:
        if cli.poll() is not None:
            pytest.fail(f"mirror balance run ended early: {cli.stdout.read()} {cli.stderr.read()}")
        attempt += 1
        try:
            response = fetch(url, socks_port, f"first{attempt}", timeout=20)
            if response.status_code == 200:
                return response
        except requests.RequestException:
            pass
        time.sleep(0.5)
    pytest.fail(f"the frontend {url} did not answer within {within:g} s")


def stop_cli(cli: subprocess.Popen) -> None:
    helpers = children(cli.pid)
    cli.send_signal(signal.SIGTERM)
    try:
        cli.wait(20)
    finally:
        cli.stdout.close()
        cli.stderr.close()
    left = [pid for pid in helpers if os.path.exists(f"/proc/{pid}")]
    for pid in left:  # only if the test fails below: never leave our Onionbalance behind
        os.kill(pid, signal.SIGKILL)
    assert not left, f"`mirror balance run` left Onionbalance running: {left}"


def test_frontend_serves_the_build_and_isolated_fetches_reach_both_backends(balanced, site):
    assert balanced["page"].content == (site / "index.html").read_bytes()
    assert balanced["seconds"] < 150
    before = [c.count for c in balanced["counts"]]
    run = fetch_many(balanced["url"], balanced["socks"], "iso", count=FETCHES)
    time.sleep(1)  # CIRC events arrive on stem's event thread
    served = [c.count - b for c, b in zip(balanced["counts"], before)]
    print(f"[balance] {FETCHES} isolated fetches: backend-1 served {served[0]}, backend-2 served {served[1]}")
    assert run.failed == 0 and set(run.bodies) == {balanced["page"].content}
    assert sum(served) >= FETCHES and min(served) >= 1


def test_balance_run_prints_the_frontend_address_once_uploaded(balanced):
    out = read_until(balanced["cli"].stdout, f"Reachable at {balanced['url']}", within=10)
    assert f"Reachable at {balanced['url']} (first frontend descriptor uploaded after " in out


def read_until(stream, marker: str, within: float) -> str:
    """Lines of ``stream`` up to the one holding ``marker`` (select sees the pipe, not the text buffer,
    so ``marker`` must be on the first line of a write)."""
    import select

    out, deadline = "", time.monotonic() + within
    while marker not in out and select.select([stream], [], [], max(0, deadline - time.monotonic()))[0]:
        line = stream.readline()
        if not line:
            break
        out += line
    return out


def test_pow_service_is_reachable_and_its_descriptor_carries_pow_params(net, site, tmp_path):
    with onion.OnionMirror(site, tmp_path / "pow", network=net.tor_options(), pow_defenses=True,
                           timeout=90) as mirror:
        published = mirror.start()
        response = fetch(published.url, net.socks_port, "pow")
        assert response.status_code == 200 and response.content == (site / "index.html").read_bytes()
        line = pow.descriptor_pow_params(net.controller, published.service_id)
    assert line and line.startswith("pow-params v1 "), line


def test_frontend_keeps_serving_with_one_backend_stopped(balanced):
    """Runs last: it stops backend-1's tor and server (by PID) and fetches for FAILOVER_SECONDS."""
    balanced["backends"][0].close()
    run = fetch_many(balanced["url"], balanced["socks"], "failover", for_seconds=FAILOVER_SECONDS)
    print(f"[balance] one backend down: {run.failed} of {run.total} fetches failed over {FAILOVER_SECONDS} s; "
          f"longest fetch {run.longest:.1f} s")
    assert run.total >= 3 and run.failed <= run.total // 10
