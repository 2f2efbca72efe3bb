"""Measuring a balanced mirror from a client of the private network: isolated fetches, and which backend
served them. Shared by tests/test_balancer.py and bench/balance.py."""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass

import requests
import stem
from stem.control import EventType
from stem.descriptor.hidden_service import HiddenServiceDescriptorV3


def fetch(url: str, socks_port: int, user: str, timeout: float = 30) -> requests.Response:
    """A fetch on its own circuit: tor isolates streams by SOCKS username (IsolateSOCKSAuth)."""
    proxy = f"socks5h://{user}:x@127.0.0.1:{socks_port}"
    return requests.get(url, proxies={"http": proxy}, timeout=timeout)


class RendezvousCount:
    """Rendezvous circuits one backend's tor built: one per client circuit it served."""

    def __init__(self, controller):
        self.count = 0
        controller.add_event_listener(self, EventType.CIRC)

    def __call__(self, event) -> None:
        if event.status == "BUILT" and event.purpose == "HS_SERVICE_REND":
            self.count += 1


@dataclass(frozen=True)
class Fetches:
    """Outcome of a run of isolated fetches."""

    seconds: tuple[float, ...]  # every fetch, failed ones included
    failed: int
    bodies: tuple[bytes, ...]

    @property
    def total(self) -> int:
        return len(self.seconds)

    @property
    def longest(self) -> float:
        return max(self.seconds)

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)


def fetch_many(url: str, socks_port: int, prefix: str, *, count: int = 0, for_seconds: float = 0) -> Fetches:
    """``count`` isolated fetches, or as many as fit in ``for_seconds``."""
    seconds, bodies, failed = [], [], 0
    deadline = time.monotonic() + for_seconds
    while (len(seconds) < count) if count else (time.monotonic() < deadline):
        began = time.monotonic()
        try:
            response = fetch(url, socks_port, f"{prefix}{len(seconds)}")
            ok = response.status_code == 200
            bodies.append(response.content)
        except requests.RequestException:
            ok = False
        failed += not ok
        seconds.append(time.monotonic() - began)
    return Fetches(tuple(seconds), failed, tuple(bodies))


def intro_points(client, address: str) -> int:
    """Introduction points in the frontend's descriptor, freshly fetched from the HSDirs (HSFETCH) by the
    client tor behind ``client``; the client's cache then holds that descriptor."""
    fetched = client.get_hidden_service_descriptor(address.removesuffix(".onion"), timeout=30)
    descriptor = HiddenServiceDescriptorV3.from_str(str(fetched))  # stem 1.8.2 parses HS_DESC_CONTENT as v2
    return len(descriptor.decrypt(address).introduction_points)


def await_intro_points(client, address: str, wanted: int, within: float) -> float:
    """Seconds until the frontend's descriptor lists ``wanted`` introduction points (Onionbalance takes 2
    per backend whose descriptor it holds, and may publish before it holds every backend's)."""
    began = time.monotonic()
    found = 0
    while time.monotonic() - began < within:
        try:
            found = intro_points(client, address)
        except (stem.ControllerError, ValueError):  # not on the HSDirs yet
            found = 0
        if found >= wanted:
            return time.monotonic() - began
        time.sleep(3)
    raise AssertionError(f"{address}'s descriptor lists {found} introduction point(s), not {wanted}, "
                         f"after {within:g} s")
