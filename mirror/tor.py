"""A tor to publish through: one we launch (and own), or one we attach to by control port or socket.

Owns: the launched tor's torrc and state folder, bootstrap progress (reported through a callback, never
printed), the stem ``Controller`` and its authentication, and stopping the tor we launched by its PID.

Must never: start a tor without ``--defaults-torrc /dev/null`` and our own torrc (so no system default can
creep in), stop a tor it did not launch, or hang: every wait has a timeout and ends in a ``TorError``.

stem's ``launch_tor_with_config`` cannot pass ``--defaults-torrc``, so the launch itself is a small
``subprocess`` with a reader thread (which also works outside the main thread, where stem's SIGALRM timeout
does not); the control connection, events and onion services are stem's.
"""

from __future__ import annotations

import logging
import os
import re
import socket
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Self

import stem
import stem.connection
from stem.control import Controller

from mirror.errors import TorError
from mirror.testnet import find_program, stop_process, tor_args, write_torrc

log = logging.getLogger(__name__)

Progress = Callable[[int, str], None]  # (percent, summary)
BOOTSTRAPPED = re.compile(r"Bootstrapped (\d+)%(?: \(\w+\))?: (.*)$")
PROBLEM = re.compile(r"\[(warn|err)\] (.*)$")
# Set by the test suite: refuse to launch a tor that would join the public Tor network.
REFUSE_PUBLIC_ENV = "MIRROR_REFUSE_PUBLIC_TOR"


class Tor:
    """A connected tor. ``process`` is set only when we launched it (and so may restart and stop it)."""

    def __init__(self, controller: Controller, process: subprocess.Popen | None = None,
                 relaunch: Callable[[], Tor] | None = None):
        self.controller = controller
        self.process = process
        self._relaunch = relaunch

    @property
    def launched(self) -> bool:
        return self.process is not None

    def alive(self) -> bool:
        """True if tor answers on its control connection (stem notices a closed one only later)."""
        if self.process is not None and self.process.poll() is not None:
            return False
        try:
            return self.controller.is_alive() and self.controller.msg("GETINFO version").is_ok()
        except stem.ControllerError:
            return False

    def restart(self) -> Tor:
        """A fresh tor like this one (launched again, or attached again); this one is closed first."""
        self.close()
        if self._relaunch is None:
            raise TorError("tor is gone and cannot be restarted from here.")
        return self._relaunch()

    def close(self) -> None:
        """Close the control connection and stop the tor if we launched it (never one we attached to)."""
        try:
            self.controller.close()
        finally:
            stop_process(self.process)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def launch(state_dir: Path, network: dict | None = None, *, on_progress: Progress | None = None,
           timeout: float = 120) -> Tor:
    """Launch a tor in ``state_dir`` (its DataDirectory, torrc and control socket) and wait for 100%.

    ``network`` holds the options of a private network (``Testnet.tor_options()``); None means the public
    Tor network.
    """
    state_dir = Path(state_dir)
    if not (network or {}).get("DirAuthority") and os.environ.get(REFUSE_PUBLIC_ENV):
        raise TorError(f"refusing to launch a tor on the public Tor network ({REFUSE_PUBLIC_ENV} is set).")
    state_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    state_dir.chmod(0o700)
    torrc = state_dir / "torrc"
    write_torrc(torrc, launch_options(state_dir, network))
    process = start_and_await(torrc, on_progress, timeout)
    try:
        # stem sends TAKEOWNERSHIP (we set __OwningControllerProcess): tor exits when we disconnect.
        controller = connect(control_socket=state_dir / "control.sock")
    except BaseException:
        stop_process(process)
        raise
    return Tor(controller, process,
               relaunch=lambda: launch(state_dir, network, on_progress=on_progress, timeout=timeout))


def launch_options(state_dir: Path, network: dict | None) -> dict:
    return {
        **(network or {}),
        "DataDirectory": str(state_dir / "data"),
        "ControlSocket": str(state_dir / "control.sock"),
        "CookieAuthentication": "1",
        "SocksPort": "0",  # the service needs none
        "Log": "notice stdout",
        "RunAsDaemon": "0",
        "__OwningControllerProcess": str(os.getpid()),
    }


def start_and_await(torrc: Path, on_progress: Progress | None, timeout: float) -> subprocess.Popen:
    """Start ``tor -f torrc --defaults-torrc /dev/null``; return once it reports 100%, or raise TorError."""
    process = subprocess.Popen([find_program("tor"), *tor_args(torrc)], stdin=subprocess.DEVNULL,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    state = {"percent": 0, "summary": "starting", "problem": ""}
    done = threading.Event()
    threading.Thread(target=_read_output, args=(process, state, done, on_progress), daemon=True,
                     name=f"tor-{process.pid}-output").start()
    if done.wait(timeout) and state["percent"] >= 100:
        return process
    stop_process(process)
    if process.returncode not in (None, 0) and state["percent"] == 0:
        raise TorError(f"tor exited at start (status {process.returncode}): {state['problem'] or 'no reason given'}.")
    raise TorError(f"tor did not finish bootstrapping within {timeout:g} s (stuck at {state['percent']}%: "
                   f"{state['summary']}). Is the Tor network reachable from here? "
                   + (f"Tor's last warning: {state['problem']}" if state["problem"] else ""))


def _read_output(process: subprocess.Popen, state: dict, done: threading.Event, on_progress) -> None:
    with process.stdout:
        _follow(process.stdout, state, done, on_progress)
    done.set()  # tor exited


def _follow(stdout, state: dict, done: threading.Event, on_progress) -> None:
    for raw in stdout:
        line = raw.decode("utf-8", "replace").rstrip()
        found = BOOTSTRAPPED.search(line)
        if found and not done.is_set():
            state["percent"], state["summary"] = int(found.group(1)), found.group(2)
            if on_progress:
                on_progress(state["percent"], state["summary"])
            if state["percent"] >= 100:
                done.set()
        elif problem := PROBLEM.search(line):
            state["problem"] = problem.group(2)
            log.debug("tor: %s", line)


def attach(*, control_port: int | None = None, control_socket: Path | None = None, password: str | None = None,
           on_progress: Progress | None = None, timeout: float = 120) -> Tor:
    """Attach to a running tor and wait until it has bootstrapped."""
    controller = connect(control_port=control_port, control_socket=control_socket, password=password)
    try:
        await_bootstrap(controller, on_progress, timeout)
    except BaseException:
        controller.close()
        raise
    return Tor(controller, relaunch=lambda: attach(control_port=control_port, control_socket=control_socket,
                                                  password=password, on_progress=on_progress, timeout=timeout))


def connect(*, control_port: int | None = None, control_socket: Path | None = None,
            password: str | None = None) -> Controller:
    where = f"tor's control socket {control_socket}" if control_socket else f"tor's control port {control_port}"
    try:
        probe(control_port, control_socket)  # stem leaks its socket when the connection is refused
        if control_socket:
            controller = Controller.from_socket_file(str(control_socket))
        else:
            controller = Controller.from_port(address="127.0.0.1", port=control_port)
    except (OSError, stem.SocketError) as e:
        raise TorError(f"could not connect to {where}: {getattr(e, 'strerror', None) or e}. Is tor running "
                       f"with that {'ControlSocket' if control_socket else 'ControlPort'}?") from e
    try:
        controller.authenticate(password=password)
    except stem.connection.MissingPassword as e:
        controller.close()
        raise TorError(f"{where} wants a password: pass --password (or set HashedControlPassword off and "
                       "use CookieAuthentication 1).") from e
    except stem.connection.AuthenticationFailure as e:
        controller.close()
        raise TorError(f"could not authenticate to {where}: {e}. Check the password, or that this user can "
                       "read tor's control_auth_cookie.") from e
    return controller


def probe(control_port: int | None, control_socket: Path | None) -> None:
    """Raise OSError unless something accepts connections at the control port or socket."""
    family, address = ((socket.AF_UNIX, str(control_socket)) if control_socket
                       else (socket.AF_INET, ("127.0.0.1", control_port)))
    with socket.socket(family) as s:
        s.settimeout(5)
        s.connect(address)


def await_bootstrap(controller: Controller, on_progress: Progress | None, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    percent, summary = 0, ""
    while time.monotonic() < deadline:
        phase = controller.get_info("status/bootstrap-phase", "")
        found = re.search(r'PROGRESS=(\d+).*?SUMMARY="([^"]*)"', phase)
        if found:
            percent, summary = int(found.group(1)), found.group(2)
            if on_progress:
                on_progress(percent, summary)
            if percent >= 100:
                return
        time.sleep(0.2)
    raise TorError(f"the running tor did not finish bootstrapping within {timeout:g} s (at {percent}%: "
                   f"{summary}). Is the Tor network reachable from it?")
