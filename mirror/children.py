"""Child programs that end with mirror: a parent-death signal for every long-lived helper it starts.

Owns: ``ends_with_parent(sig)``, a ``preexec_fn`` for ``subprocess.Popen`` that asks Linux to send ``sig``
to the child when the thread that started it ends (``PR_SET_PDEATHSIG``). Without it, a ``mirror serve
--engine nginx`` or ``mirror balance run`` killed with SIGKILL (an OOM kill, ``kill -9``) leaves nginx
holding the port or Onionbalance spinning on the control port, with nobody left to stop them. tor needs
none of this: mirror makes it its owner (``__OwningControllerProcess``) and tor exits when mirror is gone.

Start such children from the thread that outlives them (the main thread, or the supervising thread).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import signal
import sys

PR_SET_PDEATHSIG = 1


def ends_with_parent(sig: int = signal.SIGTERM):
    """A ``preexec_fn`` sending ``sig`` to the child when its parent thread dies; None off Linux."""
    if not sys.platform.startswith("linux"):
        return None
    libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)

    def arm() -> None:  # runs in the child between fork and exec: no Python objects shared with threads
        libc.prctl(PR_SET_PDEATHSIG, int(sig), 0, 0, 0)

    return arm
