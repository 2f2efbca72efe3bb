"""Fixtures for the real-tor tests: ONE private Tor network per test session, and helpers to use it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import requests

from tests.conftest import need_program

os.environ["MIRROR_REFUSE_PUBLIC_TOR"] = "1"  # no test may launch a tor on the public network


@pytest.fixture(scope="session")
def testnet():
    need_program("tor")
    need_program("tor-gencert")
    from mirror.testnet import Testnet

    with Testnet() as net:
        yield net


# Runs the mirror CLI in a subprocess: [sys.executable, *CLI, "onion", ...]
CLI = ["-m", "mirror"]


def children(pid: int) -> list[int]:
    """PIDs whose parent is ``pid``."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def fetch(url: str, socks_port: int, timeout: float = 30) -> requests.Response:
    return requests.get(url, proxies={"http": f"socks5h://127.0.0.1:{socks_port}"}, timeout=timeout)
