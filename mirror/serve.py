"""The embedded static server: serves a build directory on loopback or a unix socket, in the background.

Owns: refusing unsafe addresses, binding, the asyncio event loop (in its own thread), the connection
protocol (keep-alive, pipelining, flow control, timeouts, one write per small response with
TCP_NODELAY) and a clean stop. What a request means is decided by http.py (parsing) and respond.py
(the response); what can be served by resources.py. ``serve_forever`` is for the CLI; ``start`` for
code (the onion module) that needs a server running beside it.

Privacy: no access log unless asked, and then without addresses or times; no Server or Date header
(a Date header tells an onion service's clock skew, which can link it to its host); ETags are content
hashes.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import os
import signal
import socket
import stat
import threading
from pathlib import Path

from mirror import build, resources
from mirror.connection import Connection
from mirror.errors import ServeError

log = logging.getLogger(__name__)
access = logging.getLogger("mirror.serve.access")

RELOAD_EVERY = 2  # seconds between looks for a new build (a new .mirror/manifest.json)
PUBLIC_FLAG = "--i-understand-this-exposes-the-server"


class Endpoint:
    """Where a running server listens. ``url`` is None on a unix socket. A context manager that stops it."""

    def __init__(self, host: str | None, port: int | None, socket_path: Path | None):
        self.socket_path = socket_path
        self.host = None if socket_path else host
        self.port = None if socket_path else port
        self.url = None if socket_path else f"http://{_url_host(host)}:{port}/"

    @property
    def where(self) -> str:
        return f"unix:{self.socket_path}" if self.socket_path else self.url

    def stop(self) -> None:
        raise NotImplementedError

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


class Server(Endpoint):
    """The embedded server, running in a background thread. Use as a context manager or call ``stop()``."""

    def __init__(self, state: _State, sock: socket.socket, socket_path: Path | None):
        name = sock.getsockname()
        super().__init__(*(name[:2] if not socket_path else (None, None)), socket_path)
        self._state = state
        self._sock = sock
        self._thread = threading.Thread(target=self._run, name="mirror-serve", daemon=True)
        self._ready = threading.Event()
        self._error: BaseException | None = None

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        self._state.loop = loop
        try:
            loop.run_until_complete(self._state.serve(self._sock, self._ready))
            loop.run_until_complete(loop.shutdown_default_executor())
        except BaseException as e:  # reported to the thread that called start()
            self._error = e
            self._ready.set()
        finally:
            loop.close()

    def _start(self) -> None:
        self._thread.start()
        self._ready.wait()
        if self._error is not None:
            raise ServeError(f"the server could not start: {self._error}.") from self._error

    def stop(self) -> None:
        """Stop accepting, close every connection and wait for the loop to finish."""
        loop = self._state.loop
        if loop is not None and self._thread.is_alive():
            loop.call_soon_threadsafe(self._state.stopping.set)
            self._thread.join(timeout=10)
        if self.socket_path is not None:
            _unlink_socket(self.socket_path)


def start(root: Path, *, host: str = "127.0.0.1", port: int = 0, socket_path: Path | None = None,
          allow_public: bool = False, access_log: bool = False) -> Server:
    """Serve the build at ``root`` in a background thread; returns once it is listening."""
    catalog = resources.load(root)
    if access_log:
        access.setLevel(logging.INFO)
    sock = bind_unix(Path(socket_path)) if socket_path else bind_tcp(host, port, allow_public)
    server = Server(_State(root, catalog, access_log), sock, Path(socket_path) if socket_path else None)
    try:
        server._start()
    except BaseException:
        sock.close()
        raise
    log.info("serving %s at %s", root, server.where)
    return server


def serve_forever(root: Path, *, host: str = "127.0.0.1", port: int = 0, socket_path: Path | None = None,
                  allow_public: bool = False, access_log: bool = False, engine: str = "mirror",
                  ready=None) -> None:
    """Serve until SIGTERM or SIGINT; ``ready(server)`` is called once it listens (the CLI prints there)."""
    if engine not in ("mirror", "nginx"):
        raise ServeError(f"unknown engine {engine!r}: use 'mirror' (the embedded server) or 'nginx'.")
    if engine == "nginx" and access_log:
        raise ServeError("--access-log works with the embedded server only; nginx runs with no logs.")
    stop = threading.Event()
    previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        if engine == "nginx":
            from mirror import nginx

            server = nginx.start(root, host=host, port=port, socket_path=socket_path,
                                 allow_public=allow_public)
        else:
            server = start(root, host=host, port=port, socket_path=socket_path, allow_public=allow_public,
                           access_log=access_log)
        with server:
            if ready is not None:
                ready(server)
            while not stop.wait(1):
                pass
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def check_host(host: str, allow_public: bool) -> None:
    """Refuse anything but a loopback address unless the operator said they understand."""
    if allow_public:
        return
    name = host.strip("[]")
    try:
        loopback = ipaddress.ip_address(name).is_loopback
    except ValueError:
        loopback = name.lower() == "localhost"
    if not loopback:
        raise ServeError(
            f"refusing to serve on {host}: it is not a loopback address, and an onion service's backend "
            f"reachable from the network can reveal who runs it. Serve on 127.0.0.1 or a --socket, or pass "
            f"{PUBLIC_FLAG} if exposing it is really what you want.")


def address_of(host: str) -> str:
    """The address to bind for ``host``: localhost is 127.0.0.1 (never a name lookup), brackets dropped."""
    return "127.0.0.1" if host.lower() == "localhost" else host.strip("[]")


def bind_tcp(host: str, port: int, allow_public: bool) -> socket.socket:
    check_host(host, allow_public)
    name = address_of(host)
    family = socket.AF_INET6 if ":" in name else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((name, port))
        sock.listen(1024)
    except (OSError, OverflowError) as e:
        sock.close()
        raise ServeError(f"could not listen on {host}:{port}: {getattr(e, 'strerror', None) or e}; "
                         "choose another --port (0 picks a free one).") from e
    sock.setblocking(False)
    return sock


def prepare_socket_path(path: Path) -> None:
    """Check the socket's folder exists and remove a stale socket left by a server that died."""
    if not path.parent.is_dir():
        raise ServeError(f"cannot create the socket {path}: its folder does not exist.")
    _unlink_stale(path)


def bind_unix(path: Path) -> socket.socket:
    prepare_socket_path(path)
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    old_umask = os.umask(0o117)  # the socket is created rw for owner and group only
    try:
        sock.bind(os.fspath(path))
        sock.listen(1024)
    except OSError as e:
        sock.close()
        raise ServeError(f"could not listen on the socket {path}: {e.strerror or e}.") from e
    finally:
        os.umask(old_umask)
    sock.setblocking(False)
    return sock


def _unlink_stale(path: Path) -> None:
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        return
    if not stat.S_ISSOCK(mode):
        raise ServeError(f"{path} exists and is not a socket; remove it or choose another --socket.")
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        probe.connect(os.fspath(path))
    except OSError:
        os.unlink(path)  # nobody listens: a leftover from a server that did not stop cleanly
        return
    finally:
        probe.close()
    raise ServeError(f"{path} is in use by another server; stop it or choose another --socket.")


def _unlink_socket(path: Path) -> None:
    try:
        if stat.S_ISSOCK(os.lstat(path).st_mode):
            os.unlink(path)
    except FileNotFoundError:
        pass


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def manifest_stamp(root: Path) -> tuple | None:
    """What changes when a build is swapped in at ``root`` (a new manifest file)."""
    try:
        st = os.stat(Path(root) / build.MANIFEST)
    except OSError:
        return None
    return st.st_dev, st.st_ino, st.st_mtime_ns, st.st_size


class _State:
    """What the loop thread shares with every connection: the catalog, the clock tick, the live set."""

    def __init__(self, root: Path, catalog: resources.Catalog, access_log: bool):
        self.root = Path(root)
        self.catalog = catalog
        self.stamp = manifest_stamp(root)
        self.reloading = False
        self.access_log = access_log
        self.loop: asyncio.AbstractEventLoop | None = None
        self.stopping: asyncio.Event | None = None
        self.connections: set[Connection] = set()
        self.tick = 0

    async def serve(self, sock: socket.socket, ready: threading.Event) -> None:
        self.stopping = asyncio.Event()
        server = await self.loop.create_server(lambda: Connection(self), sock=sock, backlog=1024)
        ready.set()
        sweeper = asyncio.ensure_future(self.sweep())
        try:
            await self.stopping.wait()
        finally:
            sweeper.cancel()
            server.close()
            for conn in list(self.connections):
                conn.transport.abort()
            await server.wait_closed()
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    async def sweep(self) -> None:
        """Once a second: close idle, slow and stalled connections; every few, look for a new build."""
        while True:
            await asyncio.sleep(1)
            self.tick += 1
            for conn in list(self.connections):
                conn.check_timeouts(self.tick)
            if self.tick % RELOAD_EVERY == 0 and not self.reloading and self.stamp is not None:
                stamp = manifest_stamp(self.root)
                if stamp is not None and stamp != self.stamp:
                    self.reloading = True
                    asyncio.ensure_future(self.reload(stamp))

    async def reload(self, stamp: tuple) -> None:
        """Load a build swapped in by `mirror build` while serving; keep the old one if it fails."""
        try:
            catalog = await self.loop.run_in_executor(None, resources.load, self.root)
        except ServeError as e:
            log.warning("a new build appeared at %s but could not be loaded (%s); still serving the old one.",
                        self.root, e)
        else:
            self.catalog = catalog
            log.info("a new build appeared at %s: now serving it", self.root)
        finally:
            self.stamp = stamp
            self.reloading = False

