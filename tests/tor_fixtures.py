"""Fixtures for the real-tor tests: ONE private Tor network per test session, and helpers to use it.

Until mirror/serve.py lands on this branch, a one-write ``http.server`` stand-in with serve.start's
signature is installed as ``mirror.serve`` (tests only).
"""

from __future__ import annotations

import importlib.util
import os
import sys
import threading
import types
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


@pytest.fixture(scope="session", autouse=True)
def serve_module():
    install_standin()
    yield


def install_standin() -> None:
    if importlib.util.find_spec("mirror.serve") is None:
        sys.modules["mirror.serve"] = _standin_serve()


# `python -c CLI_BOOT ARGS...` runs the mirror CLI in a subprocess (with the stand-in server if needed).
CLI_BOOT = "import sys, tests.tor_fixtures as t; t.install_standin(); from mirror.cli import main; main(sys.argv[1:])"


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


def _standin_serve() -> types.ModuleType:
    import http.server
    import socketserver

    class Handler(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    class UnixServer(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
        daemon_threads = True

        def get_request(self):
            request, _ = super().get_request()
            return request, ("unix", 0)

    class Server:
        def __init__(self, root, socket_path):
            self.socket_path, self.port, self.url = Path(socket_path), None, None
            self._server = UnixServer(str(socket_path), lambda *a: Handler(*a, directory=str(root)))
            threading.Thread(target=self._server.serve_forever, daemon=True).start()

        def stop(self):
            self._server.shutdown()
            self._server.server_close()
            self.socket_path.unlink(missing_ok=True)

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.stop()

    module = types.ModuleType("mirror.serve")
    module.start = lambda root, *, host="127.0.0.1", port=0, socket_path=None, allow_public=False: Server(
        root, socket_path)
    return module
