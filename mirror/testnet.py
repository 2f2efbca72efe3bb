"""A private Tor network on 127.0.0.1, for tests and the offline demo (`mirror testnet`).

Owns: authority keys (``tor-gencert``), relay fingerprints (``tor --list-fingerprint``), one torrc per node,
starting every tor as ``tor -f TORRC --defaults-torrc /dev/null`` and stopping exactly those PIDs, and the
options any other tor needs to join this network (:meth:`Testnet.tor_options`).

Must never: start a tor without ``TestingTorNetwork 1`` and our own ``DirAuthority`` lines, let a tor reach the
public Tor network, or leave anything behind: everything lives in one temporary folder, removed by ``stop()``.

Measured facts this follows (tor 0.4.9): at least 4 relays in all (onion-service circuits need 4 distinct
relays); a 10 s voting interval whose first vote starts about 4 s after launch; the service and the client
start only once an authority serves a consensus listing every relay.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Self

from mirror.errors import TorError

log = logging.getLogger(__name__)

VOTING_INTERVAL = 10  # seconds
VOTE_DELAY = 2
FIRST_VOTE_AFTER = 4  # seconds after launch
PLACEHOLDER_AUTHORITY = ("placeholder orport=1 no-v2 v3ident=" + "0" * 40 + " 127.0.0.1:1 " + "0" * 40)

# Every tor of the network, and every tor that joins it.
COMMON_OPTIONS = {
    "TestingTorNetwork": "1",
    "UseDefaultFallbackDirs": "0",
    "Schedulers": "Vanilla",  # KIST added 10-60 ms per fetch
    "GeoIPFile": "",  # saves ~35 MB and ~0.5 s per tor
    "GeoIPv6File": "",
    "ShutdownWaitLength": "0",
    "RunAsDaemon": "0",
}
RELAY_OPTIONS = {
    "Address": "127.0.0.1",
    "AssumeReachable": "1",
    "ExitRelay": "0",
    "ExitPolicy": "reject *:*",
    "SocksPort": "0",
}
AUTHORITY_OPTIONS = {
    "AuthoritativeDirectory": "1",
    "V3AuthoritativeDirectory": "1",
    "V3AuthVotingInterval": str(VOTING_INTERVAL),
    "V3AuthVoteDelay": str(VOTE_DELAY),
    "V3AuthDistDelay": str(VOTE_DELAY),
    "TestingV3AuthInitialVotingInterval": str(VOTING_INTERVAL),
    "TestingV3AuthInitialVoteDelay": str(VOTE_DELAY),
    "TestingV3AuthInitialDistDelay": str(VOTE_DELAY),
    "TestingDirAuthVoteGuard": "*",
    "TestingDirAuthVoteExit": "*",
    "TestingDirAuthVoteHSDir": "*",
}
# A tor that uses the network (the client here, the onion service in onion.py).
JOINING_OPTIONS = {"FetchDirInfoEarly": "1", "UseEntryGuards": "0"}


@dataclass
class Node:
    """One tor of the network."""

    name: str
    role: str  # "authority", "relay" or "client"
    datadir: Path
    or_port: int = 0
    dir_port: int = 0
    socks_port: int = 0
    fingerprint: str = ""
    v3ident: str = ""
    process: subprocess.Popen | None = field(default=None, repr=False)

    @property
    def torrc(self) -> Path:
        return self.datadir / "torrc"

    @property
    def log_file(self) -> Path:
        return self.datadir / "notice.log"

    @property
    def control_socket(self) -> Path:
        return self.datadir / "control.sock"


class Testnet:
    """A private network: ``authorities`` + ``relays`` tors (4 or more) and one client tor.

    Use as a context manager, or call :meth:`start` and :meth:`stop`.
    """

    def __init__(self, authorities: int = 1, relays: int = 3, *, client: bool = True, tor_cmd: str | None = None,
                 voting_interval: int = VOTING_INTERVAL):
        if authorities < 1 or authorities + relays < 4:
            raise TorError("a private Tor network needs at least 1 authority and 4 relays in all "
                           "(onion-service circuits need 4 distinct relays).")
        self.tor_cmd = tor_cmd or find_program("tor")
        self.root: Path | None = None
        self._counts = (authorities, relays, client)
        self.nodes: list[Node] = []
        self.voting_interval = voting_interval  # Onionbalance's --is-testnet assumes 20 s
        self.controller = None  # stem Controller of the client tor, for tests (events, client auth)

    # -- public view -------------------------------------------------------------------------------------
    @property
    def authorities(self) -> list[Node]:
        return [n for n in self.nodes if n.role == "authority"]

    @property
    def client(self) -> Node:
        return next(n for n in self.nodes if n.role == "client")

    @property
    def socks_port(self) -> int:
        return self.client.socks_port

    def dir_authority_lines(self) -> list[str]:
        return [f"{a.name} orport={a.or_port} no-v2 v3ident={a.v3ident} 127.0.0.1:{a.dir_port} {a.fingerprint}"
                for a in self.authorities]

    def tor_options(self) -> dict[str, str | list[str]]:
        """The options a tor needs to join this network as a client or an onion service."""
        return {**COMMON_OPTIONS, **JOINING_OPTIONS, "DirAuthority": self.dir_authority_lines()}

    def pids(self) -> list[int]:
        return [n.process.pid for n in self.nodes if n.process and n.process.poll() is None]

    def memory(self) -> int:
        """Resident memory of all the network's tors, in bytes."""
        return sum(rss_bytes(pid) for pid in self.pids())

    # -- lifecycle ---------------------------------------------------------------------------------------
    def __enter__(self) -> Self:
        return self if self.root else self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def start(self, timeout: float = 60, *, wait_for_client: bool = True) -> Testnet:
        """Create keys, start every tor and return once the client has bootstrapped (or, without
        ``wait_for_client``, once it is launched: call :meth:`await_client` before using it)."""
        deadline = time.monotonic() + timeout
        self.root = Path(tempfile.mkdtemp(prefix="mirror-testnet-"))
        try:
            self._plan()
            self._make_identities()
            offset = int(time.time() + FIRST_VOTE_AFTER + 2 * VOTE_DELAY) % self.voting_interval
            for node in self.nodes:
                if node.role != "client":
                    self._launch(node, offset)
            self._await_consensus(deadline)
            if self._counts[2]:
                self._launch(self.client, offset)
                if wait_for_client:
                    self.await_client(deadline - time.monotonic())
        except BaseException:
            self.stop()
            raise
        return self

    def await_client(self, timeout: float = 60) -> None:
        """Wait until the client tor has bootstrapped, then hold its control connection."""
        if self.controller is None:
            await_bootstrap(self.client, time.monotonic() + timeout)
            self.controller = self._own_client()
            log.info("private Tor network up: %d tors, client SOCKS 127.0.0.1:%s", len(self.nodes),
                     self.client.socks_port)

    def _own_client(self):
        """A control connection to the client, kept open: stem takes ownership (TAKEOWNERSHIP) with the
        first one, so it must be this one, closed only by ``stop()``, and not a passing one in a test."""
        from stem.control import Controller

        controller = Controller.from_socket_file(str(self.client.control_socket))
        controller.authenticate()
        return controller

    def stop(self) -> None:
        """Stop the tors this object started (by PID) and remove the folder."""
        if self.controller is not None:
            self.controller.close()
            self.controller = None
        for node in self.nodes:
            stop_process(node.process)
            node.process = None
        if self.root:
            shutil.rmtree(self.root, ignore_errors=True)
            self.root = None

    # -- steps -------------------------------------------------------------------------------------------
    def _plan(self) -> None:
        n_auth, n_relay, client = self._counts
        names = [("authority", f"auth{i}") for i in range(n_auth)] + [("relay", f"relay{i}") for i in range(n_relay)]
        if client:
            names.append(("client", "client"))
        ports = iter(free_ports(3 * len(names)))
        for role, name in names:
            datadir = self.root / name
            datadir.mkdir(mode=0o700)
            node = Node(name, role, datadir)
            if role != "client":
                node.or_port = next(ports)
            if role == "authority":
                node.dir_port = next(ports)
            if role == "client":
                node.socks_port = next(ports)
            self.nodes.append(node)

    def _make_identities(self) -> None:
        """Authority keys with tor-gencert, then every relay's fingerprint, each batch in parallel."""
        gencert = find_program("tor-gencert")
        for a in self.authorities:
            (a.datadir / "keys").mkdir(mode=0o700)
        jobs = [(a, subprocess.Popen(
            [gencert, "--create-identity-key", "--passphrase-fd", "0", "-m", "12",
             "-a", f"127.0.0.1:{a.dir_port}", "-i", str(a.datadir / "keys/authority_identity_key"),
             "-s", str(a.datadir / "keys/authority_signing_key"),
             "-c", str(a.datadir / "keys/authority_certificate")],
            stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE))
            for a in self.authorities]
        for node, proc in jobs:
            _, err = proc.communicate(b"\n", timeout=30)
            if proc.returncode:
                raise TorError(f"tor-gencert failed for {node.name}: {err.decode(errors='replace').strip()}")
            cert = (node.datadir / "keys/authority_certificate").read_text()
            node.v3ident = re.search(r"^fingerprint ([0-9A-F]{40})$", cert, re.MULTILINE).group(1)
        relays = [n for n in self.nodes if n.role != "client"]
        for node in relays:
            write_torrc(node.torrc, self._fingerprint_options(node))
        jobs = [(n, subprocess.Popen([self.tor_cmd, "--list-fingerprint", "--quiet", *tor_args(n.torrc)],
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT)) for n in relays]
        for node, proc in jobs:
            out, _ = proc.communicate(timeout=30)
            found = re.search(r"([0-9A-F]{4}(?: ?[0-9A-F]{4}){9})\s*$", out.decode(errors="replace"))
            if proc.returncode or not found:
                raise TorError(f"tor --list-fingerprint failed for {node.name}: {out.decode(errors='replace')}")
            node.fingerprint = found.group(1).replace(" ", "")

    def _fingerprint_options(self, node: Node) -> dict:
        return {**COMMON_OPTIONS, "DataDirectory": str(node.datadir), "ORPort": f"127.0.0.1:{node.or_port}",
                "SocksPort": "0", "DirAuthority": PLACEHOLDER_AUTHORITY, "Log": "err stderr"}

    def node_options(self, node: Node, vote_offset: int) -> dict:
        options = {**COMMON_OPTIONS, "DataDirectory": str(node.datadir), "Nickname": node.name,
                   "Log": f"notice file {node.log_file}", "DirAuthority": self.dir_authority_lines(),
                   "__OwningControllerProcess": str(os.getpid())}
        if node.role == "client":
            return {**options, **JOINING_OPTIONS, "SocksPort": f"127.0.0.1:{node.socks_port}",
                    "ControlSocket": str(node.control_socket), "CookieAuthentication": "1"}
        options.update(RELAY_OPTIONS, ORPort=f"127.0.0.1:{node.or_port}")
        if node.role == "authority":
            interval = str(self.voting_interval)
            options.update(AUTHORITY_OPTIONS, DirPort=f"127.0.0.1:{node.dir_port}", V3AuthVotingInterval=interval,
                           TestingV3AuthInitialVotingInterval=interval,
                           TestingV3AuthVotingStartOffset=str(vote_offset))
        return options

    def _launch(self, node: Node, vote_offset: int) -> None:
        write_torrc(node.torrc, self.node_options(node, vote_offset))
        node.process = subprocess.Popen([self.tor_cmd, *tor_args(node.torrc)], stdin=subprocess.DEVNULL,
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        log.debug("started %s (pid %d)", node.name, node.process.pid)

    def _await_consensus(self, deadline: float) -> None:
        """Wait until the first authority serves a consensus that lists every relay."""
        wanted = {n.name for n in self.nodes if n.role != "client"}
        url = f"http://127.0.0.1:{self.authorities[0].dir_port}/tor/status-vote/current/consensus"
        listed: set[str] = set()
        while time.monotonic() < deadline:
            self._check_alive()
            listed = consensus_relays(url)
            if wanted <= listed:
                return
            time.sleep(0.25)
        raise TorError(f"the private Tor network formed no consensus with all {len(wanted)} relays in time "
                       f"(listed: {', '.join(sorted(listed)) or 'none'}); see the logs in {self.root}.")

    def _check_alive(self) -> None:
        for node in self.nodes:
            if node.process and node.process.poll() is not None:
                raise TorError(f"{node.name} of the private Tor network exited early: {last_lines(node.log_file)}")


def consensus_relays(url: str) -> set[str]:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            text = response.read().decode("utf-8", "replace")
    except OSError:
        return set()
    return set(re.findall(r"^r (\S+) ", text, re.MULTILINE))


def await_bootstrap(node: Node, deadline: float) -> None:
    while time.monotonic() < deadline:
        if node.process.poll() is not None:
            raise TorError(f"the {node.name} tor exited early: {last_lines(node.log_file)}")
        if node.log_file.exists() and "Bootstrapped 100%" in node.log_file.read_text(errors="replace"):
            return
        time.sleep(0.1)
    raise TorError(f"the {node.name} tor did not bootstrap in time: {last_lines(node.log_file)}")


def tor_args(torrc: Path) -> list[str]:
    """Every tor here reads only its own torrc: never a system default."""
    return ["-f", str(torrc), "--defaults-torrc", os.devnull]


def write_torrc(path: Path, options: dict) -> None:
    lines = []
    for key, values in options.items():
        for value in [values] if isinstance(values, str) else values:
            lines.append(f"{key} {value}".rstrip())
    tmp = path.with_suffix(".tmp")
    tmp.write_text("\n".join(lines) + "\n")
    os.replace(tmp, path)


def free_ports(count: int) -> list[int]:
    """``count`` distinct free TCP ports on 127.0.0.1 (held together while chosen, so distinct)."""
    socks = []
    try:
        for _ in range(count):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def stop_process(process: subprocess.Popen | None, grace: float = 5) -> None:
    """Stop one process we started: SIGTERM, then SIGKILL after ``grace`` seconds."""
    if process is None or process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(grace)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def rss_bytes(pid: int) -> int:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0
    found = re.search(r"^VmRSS:\s+(\d+) kB", status, re.MULTILINE)
    return int(found.group(1)) * 1024 if found else 0


def last_lines(path: Path, count: int = 3) -> str:
    try:
        lines = path.read_text(errors="replace").strip().splitlines()
    except OSError:
        return "(no log)"
    return " | ".join(lines[-count:]) or "(empty log)"


def find_program(name: str) -> str:
    found = shutil.which(name) or next((p for p in (f"/usr/sbin/{name}", f"/usr/bin/{name}")
                                        if os.access(p, os.X_OK)), None)
    if not found:
        raise TorError(f"{name} is not installed; install Debian's tor package "
                       "(sudo apt-get install --no-install-recommends tor) and run the command again.")
    return found
