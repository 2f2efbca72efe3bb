"""`mirror balance run`: Onionbalance as a child process against one tor's control port, watched.

Owns: the checks before Onionbalance starts (a bootstrapped tor, enough HSDirs, a voting interval Onionbalance
understands), the Onionbalance process (started by us, stopped by its PID: SIGTERM, then SIGKILL), its progress
(backend descriptors it found, frontend descriptor uploads seen as HS_DESC events on our own control
connection) and its guards: a deadline for the first upload, restarts (at most 5 in 10 minutes), and two ways
to catch the hash-ring loop Onionbalance 0.2.4 falls into with 4 HSDirs or fewer (it then never uploads and
ignores SIGTERM): the ring size it logs, and a watchdog for a process busy without a pause.

Must never: run Onionbalance against anything but the control port or socket it is given, print (progress
goes to ``on_event(kind, detail)``), or keep Onionbalance's output beyond its last lines.

Events: ``"check"`` (a sentence), ``"instance"`` (backend address whose descriptor Onionbalance holds),
``"upload"`` ((uploaded, tried) frontend descriptor uploads), ``"published"`` (a :class:`Running`),
``"restart"`` (a sentence).
"""

from __future__ import annotations

import collections
import logging
import os
import queue
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import stem
from stem.control import Controller, EventType

from mirror import balance
from mirror.errors import BalanceError, TorError

log = logging.getLogger(__name__)

OnEvent = Callable[[str, object], None]
MIN_HSDIRS = 5  # with 4 or fewer, Onionbalance 0.2.4's hash ring loops forever
TESTNET_INTERVAL = 20  # Onionbalance's --is-testnet hard-codes chutney's voting interval
LIVE_INTERVAL = 3600
LOOP_SECONDS = 60  # runnable (running or waiting for a CPU) this long without a break: the hash-ring loop
LOOP_SHARE = 0.9
FOUND_INSTANCE = re.compile(r"Found instance (\S+) for this new descriptor")
HASH_RING = re.compile(r"Initialized hash ring of size (\d+)")
UPLOADING = re.compile(r"Uploading (?:first|second) descriptor for (\S+) to \[(.*)\]")
STOP_GRACE = 3
MAX_RESTARTS, RESTART_WINDOW = 5, 600  # then `mirror balance run` gives up with Onionbalance's last lines


@dataclass(frozen=True)
class Running:
    """A frontend whose descriptor reached at least one HSDir."""

    address: str
    pid: int
    seconds: float  # from start() to the first upload

    @property
    def url(self) -> str:
        return f"http://{self.address}/"


class Balancer:
    """Onionbalance for ``config_file`` against a tor's control port or socket, supervised."""

    def __init__(self, config_file: Path, *, control_port: int | None = None, control_socket: Path | None = None,
                 timeout: float = 180, on_event: OnEvent | None = None, program: list[str] | None = None):
        if not (control_port or control_socket):
            raise BalanceError("name the tor Onionbalance should use: --control-port PORT or "
                               "--control-socket PATH.")
        self.config_file = Path(config_file).absolute()
        self.control = dict(control_port=control_port, control_socket=control_socket)
        self.timeout = timeout
        self.on_event = on_event or (lambda kind, detail: None)
        self.program = program or find_onionbalance()
        self.frontend = check_config(self.config_file)
        self.controller: Controller | None = None
        self.process: subprocess.Popen | None = None
        self.testnet = False
        self.output: collections.deque[str] = collections.deque(maxlen=20)
        self.events: queue.Queue = queue.Queue()
        self.instances: set[str] = set()
        self.uploads = UploadCount(self.frontend.removesuffix(".onion"))
        self._cpu: collections.deque[tuple[float, float]] = collections.deque()
        self.loop_seconds = LOOP_SECONDS
        self.small_ring: int | None = None
        self._restarts: list[float] = []

    # -- lifecycle ------------------------------------------------------------------------------------------
    def start(self) -> Running:
        """Check the tor, start Onionbalance and return once a frontend descriptor was uploaded."""
        began = time.monotonic()
        self.controller = connect(**self.control)
        self.testnet = check_network(self.controller, self.on_event)
        self.controller.add_event_listener(self.events.put, EventType.HS_DESC)
        self._spawn()
        self._await_upload(began + self.timeout)
        running = Running(self.frontend, self.process.pid, time.monotonic() - began)
        self.on_event("published", running)
        return running

    def run(self, stop: threading.Event, interval: float = 1.0) -> None:
        """Supervise until ``stop`` is set: restart Onionbalance if it exits or loops."""
        while not stop.wait(interval):
            self.check()

    def check(self) -> None:
        self._drain_events()
        problem = self._problem()
        if not problem:
            return
        now = time.monotonic()
        self._restarts = [t for t in self._restarts if now - t < RESTART_WINDOW] + [now]
        self._stop_process()
        if len(self._restarts) > MAX_RESTARTS:
            raise BalanceError(self._failure(f"{problem}, {len(self._restarts)} times within "
                                             f"{RESTART_WINDOW} s; giving up"))
        self.on_event("restart", f"{problem}; restarting it")
        self._spawn()

    def close(self) -> None:
        self._stop_process()
        if self.controller is not None:
            self.controller.close()
            self.controller = None

    def __enter__(self) -> Balancer:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- steps ----------------------------------------------------------------------------------------------
    def command(self) -> list[str]:
        where = (["-s", str(self.control["control_socket"])] if self.control["control_socket"]
                 else ["-i", "127.0.0.1", "-p", str(self.control["control_port"])])
        return [*self.program, "-c", str(self.config_file), *where, "-v", "info",
                *(["--is-testnet"] if self.testnet else [])]

    def _spawn(self) -> None:
        env = {**os.environ, "PYTHONUNBUFFERED": "1", "ONIONBALANCE_STATUS_SOCKET_LOCATION": ""}
        self.process = subprocess.Popen(self.command(), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                        stderr=subprocess.STDOUT, env=env, start_new_session=True)
        self._cpu.clear()
        self.small_ring = None
        self._reader = threading.Thread(target=self._read_output, args=(self.process,), daemon=True,
                                        name=f"onionbalance-{self.process.pid}")
        self._reader.start()
        log.info("Onionbalance started (pid %d): %s", self.process.pid, " ".join(self.command()))

    def _read_output(self, process: subprocess.Popen) -> None:
        for raw in process.stdout:
            line = raw.decode("utf-8", "replace").rstrip()
            self.output.append(line)
            log.debug("onionbalance: %s", line)
            ring = HASH_RING.search(line)
            if ring and int(ring.group(1)) < MIN_HSDIRS:
                self.small_ring = int(ring.group(1))
            if self.uploads.add_attempt(line):
                self._report_uploads()
            found = FOUND_INSTANCE.search(line)
            if found and found.group(1) not in self.instances:
                self.instances.add(found.group(1))
                self.on_event("instance", f"{found.group(1)}.onion")

    def _report_uploads(self) -> None:
        self.on_event("upload", (self.uploads.uploaded, max(self.uploads.tried, self.uploads.uploaded)))

    def _await_upload(self, deadline: float) -> None:
        while not self.uploads.uploaded:
            self._drain_events(timeout=0.5)
            problem = self._problem()
            if problem or time.monotonic() > deadline:
                self._stop_process()
                raise BalanceError(self._failure(problem or f"no frontend descriptor was uploaded within "
                                                            f"{self.timeout:g} s"))

    def _drain_events(self, timeout: float = 0) -> None:
        try:
            event = self.events.get(timeout=timeout) if timeout else self.events.get_nowait()
            while True:
                if self.uploads.add(event):
                    self._report_uploads()
                event = self.events.get_nowait()
        except queue.Empty:
            pass

    def _problem(self) -> str | None:
        """Why Onionbalance is not doing its job, or None."""
        if self.process.poll() is not None:
            return f"Onionbalance exited with status {self.process.returncode}"
        if self.small_ring is not None:
            return (f"Onionbalance sees a hash ring of {self.small_ring} HSDir(s) and loops forever with fewer "
                    f"than {MIN_HSDIRS}")
        if self._looping():
            return f"Onionbalance was busy for {self.loop_seconds} s without a pause (its hash-ring loop?)"
        return None

    def _looping(self) -> bool:
        now, used = time.monotonic(), busy_seconds(self.process.pid)
        self._cpu.append((now, used))
        while self._cpu and now - self._cpu[0][0] > self.loop_seconds:
            first = self._cpu.popleft()
            if (used - first[1]) / (now - first[0]) > LOOP_SHARE:
                return True
        return False

    def _failure(self, problem: str) -> str:
        found = (f"it found {len(self.instances)} backend descriptor(s)" if self.instances
                 else "it found no backend descriptor yet (are the backends up and published?)")
        last = " | ".join(list(self.output)[-3:]) or "no output"
        return f"{problem}; {found}. Onionbalance's last lines: {last}"

    def _stop_process(self) -> None:
        """SIGTERM, then SIGKILL by PID after a grace period: Onionbalance 0.2.4 rarely exits on SIGTERM (its
        handler calls sys.exit() while stem's threads live on), and never from its hash-ring loop."""
        process = self.process
        if process is None:
            return
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(STOP_GRACE)
            except subprocess.TimeoutExpired:
                os.kill(process.pid, signal.SIGKILL)
                process.wait()
                log.info("Onionbalance (pid %d) ignored SIGTERM; killed", process.pid)
        self._reader.join(STOP_GRACE)
        process.stdout.close()


class UploadCount:
    """Frontend descriptor uploads: attempts from Onionbalance's log, results from HS_DESC events (tor
    reports HSPOST uploads as UPLOADED or FAILED with the service's address, without an UPLOAD event)."""

    def __init__(self, service_id: str):
        self.service_id = service_id
        self.tried = 0
        self.uploaded = 0
        self.failed = 0

    def add_attempt(self, line: str) -> bool:
        found = UPLOADING.search(line)
        if not found or found.group(1).removesuffix(".onion") != self.service_id:
            return False
        self.tried += len(re.findall(r"[0-9A-F]{40}", found.group(2)))
        return True

    def add(self, event) -> bool:
        if event.address != self.service_id or event.action not in ("UPLOADED", "FAILED"):
            return False
        if event.action == "UPLOADED":
            self.uploaded += 1
        else:
            self.failed += 1
        return True


def run(config_file: Path, stop: threading.Event, *, on_event: OnEvent | None = None, **options) -> Running:
    """``mirror balance run``: start Onionbalance for ``config_file`` and supervise it until ``stop``."""
    with Balancer(config_file, on_event=on_event, **options) as balancer:
        running = balancer.start()
        balancer.run(stop)
    return running


def check_config(config_file: Path) -> str:
    """The frontend address named by an Onionbalance ``config.yaml`` written by ``mirror balance init``."""
    try:
        text = config_file.read_text()
    except OSError as e:
        raise BalanceError(f"{config_file} cannot be read ({e.strerror}); pass the config.yaml that "
                           "`mirror balance init` wrote (--config).") from e
    key = re.search(r"^- key: (.+)$", text, re.M)
    instances = re.findall(r"^\s+- address: (\S+)$", text, re.M)
    if not key or not instances:
        raise BalanceError(f"{config_file} names no frontend key or no backend address; "
                           "write it with `mirror balance init`.")
    for address in instances:
        balance.normal_address(address)
    key_file = Path(key.group(1).strip())
    return balance.read_frontend_address(key_file if key_file.is_absolute() else config_file.parent / key_file)


def connect(*, control_port: int | None, control_socket: Path | None) -> Controller:
    """A stem connection to the tor Onionbalance will use; Onionbalance itself can only use cookie or no
    authentication, so a password-protected control port is refused here with that reason."""
    where = f"control socket {control_socket}" if control_socket else f"control port 127.0.0.1:{control_port}"
    try:
        controller = (Controller.from_socket_file(str(control_socket)) if control_socket
                      else Controller.from_port(address="127.0.0.1", port=control_port))
        controller.authenticate()
    except stem.connection.MissingPassword as e:
        raise BalanceError(f"tor's {where} wants a password, which Onionbalance 0.2.4 cannot give; use "
                           "CookieAuthentication 1 (and run as a user who can read the cookie).") from e
    except (stem.SocketError, stem.connection.AuthenticationFailure) as e:
        raise TorError(f"could not use tor's {where}: {e}. Is tor running with that ControlPort/ControlSocket, "
                       "and can this user read its cookie?") from e
    return controller


def check_network(controller: Controller, on_event: OnEvent) -> bool:
    """Refuse a tor Onionbalance would misuse; return True for a private (testing) network."""
    if "PROGRESS=100" not in controller.get_info("status/bootstrap-phase", ""):
        raise BalanceError("the tor Onionbalance would use has not finished bootstrapping; wait for "
                           "`Bootstrapped 100%` in its log and run again.")
    testnet = controller.get_conf("TestingTorNetwork", "0") == "1"
    interval = voting_interval(controller)
    wanted = TESTNET_INTERVAL if testnet else LIVE_INTERVAL
    if interval != wanted:
        kind = "a private testing network" if testnet else "the Tor network"
        raise BalanceError(f"tor's consensus is renewed every {interval} s, but Onionbalance 0.2.4 assumes "
                           f"{wanted} s on {kind} and would publish under the wrong blinded key (clients would "
                           f"get 404): run the network with V3AuthVotingInterval {wanted}.")
    hsdirs = sum(1 for status in controller.get_network_statuses() if "HSDir" in status.flags)
    if hsdirs < MIN_HSDIRS:
        raise BalanceError(f"the consensus lists {hsdirs} HSDir(s); Onionbalance 0.2.4 needs at least "
                           f"{MIN_HSDIRS} (with fewer its hash ring never finishes).")
    on_event("check", f"tor ready: {hsdirs} HSDirs, consensus every {interval} s"
                      + (" (private network: --is-testnet)" if testnet else ""))
    return testnet


def voting_interval(controller: Controller) -> int:
    """Seconds between consensuses: fresh-until minus valid-after of the current consensus."""
    try:
        valid_after = controller.get_info("consensus/valid-after")
        fresh_until = controller.get_info("consensus/fresh-until")
    except stem.ControllerError as e:
        raise BalanceError(f"tor has no consensus yet ({e}); wait for it to bootstrap.") from e
    parse = lambda text: time.mktime(time.strptime(text.strip(), "%Y-%m-%d %H:%M:%S"))  # noqa: E731
    return round(parse(fresh_until) - parse(valid_after))


def busy_seconds(pid: int) -> float:
    """Seconds the threads of ``pid`` spent running or waiting for a CPU (/proc/PID/task/*/schedstat): a
    spinning thread accrues one per second however loaded the machine is; an idle one almost none."""
    total = 0
    for task in Path(f"/proc/{pid}/task").glob("*/schedstat"):
        try:
            running, waiting = task.read_text().split()[:2]
        except (OSError, ValueError):
            continue
        total += int(running) + int(waiting)
    return total / 1e9


def find_onionbalance() -> list[str]:
    """The Onionbalance command: the one installed beside this Python, else Debian's."""
    beside = Path(sys.executable).parent / "onionbalance"
    found = str(beside) if beside.exists() else shutil.which("onionbalance")
    if not found:
        raise BalanceError("Onionbalance is not installed: pip install 'onionbalance==0.2.4' (or "
                           "pip install -e '.[balance]'), or apt-get install onionbalance.")
    return [found]
