"""mirror/testnet.py: a private Tor network on 127.0.0.1 (the session's one network, tests/tor_fixtures.py)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mirror.errors import TorError
from mirror import testnet as tn
from mirror.testnet import consensus_relays, free_ports, tor_args
from tests.conftest import ROOT
from tests.tor_fixtures import CLI, children

pytestmark = pytest.mark.tor


def test_fewer_than_four_relays_is_refused_before_starting_anything():
    with pytest.raises(TorError, match="at least 1 authority and 4 relays"):
        tn.Testnet(authorities=1, relays=2)


def test_every_tor_reads_only_its_own_torrc():
    assert tor_args(Path("/x/torrc")) == ["-f", "/x/torrc", "--defaults-torrc", os.devnull]


def test_free_ports_are_distinct():
    ports = free_ports(20)
    assert len(set(ports)) == 20


def test_network_runs_every_relay_in_consensus_and_only_private_options(testnet):
    relays = {n.name for n in testnet.nodes if n.role != "client"}
    assert len(relays) >= 4
    url = f"http://127.0.0.1:{testnet.authorities[0].dir_port}/tor/status-vote/current/consensus"
    deadline = time.monotonic() + 40  # on a loaded machine a relay can miss one vote: wait a few intervals
    while not relays <= (listed := consensus_relays(url)) and time.monotonic() < deadline:
        time.sleep(2)
    assert relays <= listed
    for node in testnet.nodes:
        torrc = node.torrc.read_text()
        assert "TestingTorNetwork 1\n" in torrc and "UseDefaultFallbackDirs 0\n" in torrc
        authorities = [line for line in torrc.splitlines() if line.startswith("DirAuthority ")]
        assert authorities == [f"DirAuthority {line}" for line in testnet.dir_authority_lines()]
        assert all(" 127.0.0.1:" in line for line in authorities)
        assert Path(f"/proc/{node.process.pid}/cmdline").read_bytes().split(b"\0")[-3:-1] == [
            b"--defaults-torrc", os.devnull.encode()]
    assert 20e6 < testnet.memory() < 400e6


def test_cli_testnet_stops_every_tor_and_removes_its_folder_on_sigterm():
    cli = subprocess.Popen([sys.executable, *CLI, "testnet"], cwd=ROOT, text=True,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        first = cli.stdout.readline()
        assert first.startswith("Private Tor network up in "), cli.stderr.read()
        folder = Path(first.split(" in ", 1)[1].split(":", 1)[0])
        tors = children(cli.pid)
        assert len(tors) == 5 and folder.is_dir()
    finally:
        cli.send_signal(signal.SIGTERM)
        status = cli.wait(20)
        out = cli.stdout.read()
        cli.stdout.close()
        cli.stderr.close()
    assert status == 0 and "Stopped." in out
    time.sleep(0.2)
    assert not folder.exists()
    assert not [pid for pid in tors if Path(f"/proc/{pid}").exists()]
