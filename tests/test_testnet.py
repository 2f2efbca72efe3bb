"""mirror/testnet.py: a private Tor network on 127.0.0.1 (the session's one network, tests/tor_fixtures.py)."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from mirror import testnet as tn
from mirror.errors import TorError
from mirror.testnet import consensus_relays, free_ports, tor_args
from tests.conftest import need_program

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


def test_a_start_that_times_out_stops_every_tor_it_started_and_removes_its_folder(monkeypatch):
    need_program("tor")
    started = []
    launch = tn.Testnet._launch

    def recording_launch(self, node, offset):
        launch(self, node, offset)
        started.append((node.process.pid, self.root))

    monkeypatch.setattr(tn.Testnet, "_launch", recording_launch)
    with pytest.raises(TorError, match="no consensus with all 4 relays in time"):
        tn.Testnet().start(timeout=3)  # the first consensus comes about 8 s after launch
    assert len(started) == 4
    assert not [pid for pid, _ in started if Path(f"/proc/{pid}").exists()]
    assert not started[0][1].exists()
