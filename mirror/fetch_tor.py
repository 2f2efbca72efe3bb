"""A tor for ``mirror fetch --tor``: launched like the one ``mirror onion`` launches, plus a SOCKS port.

Owns: nothing new about tor. It reuses mirror/tor.py's torrc (``--defaults-torrc /dev/null``, our own
DataDirectory and control socket, the tor exits with us) and opens a SocksPort on 127.0.0.1 that the
crawl reaches with ``socks5h://`` (names resolved by tor, never locally). With ``dir_authorities``
(the lines ``mirror testnet`` prints) it joins that private network instead of the public one.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from stem.control import Listener

from mirror import tor
from mirror.errors import TorError
from mirror.testnet import COMMON_OPTIONS, JOINING_OPTIONS, write_torrc


def network_for(dir_authorities: tuple[str, ...] | list[str]) -> dict | None:
    """The options of a private network given by its DirAuthority lines (None: the public network)."""
    lines = [line.removeprefix("DirAuthority").strip() for line in dir_authorities if line.strip()]
    return {**COMMON_OPTIONS, **JOINING_OPTIONS, "DirAuthority": lines} if lines else None


@contextlib.contextmanager
def socks_proxy(state_dir: Path, dir_authorities=(), timeout: float = 120):
    """Launch a tor in ``state_dir``; yield ``socks5h://127.0.0.1:PORT``; stop it at the end."""
    network = network_for(dir_authorities)
    if network is None and os.environ.get(tor.REFUSE_PUBLIC_ENV):
        raise TorError(f"refusing to launch a tor on the public Tor network ({tor.REFUSE_PUBLIC_ENV} is set).")
    state_dir = Path(state_dir)
    state_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    state_dir.chmod(0o700)
    torrc = state_dir / "torrc"
    write_torrc(torrc, {**tor.launch_options(state_dir, network), "SocksPort": "127.0.0.1:auto"})
    process = tor.start_and_await(torrc, None, timeout)
    try:
        controller = tor.connect(control_socket=state_dir / "control.sock")
    except BaseException:
        tor.stop_process(process)
        raise
    with tor.Tor(controller, process):
        listeners = controller.get_listeners(Listener.SOCKS)
        if not listeners:
            raise TorError("tor opened no SOCKS port; see its log in " f"{state_dir}.")
        host, port = listeners[0]
        yield f"socks5h://{host}:{port}"
