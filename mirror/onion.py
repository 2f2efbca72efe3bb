"""Publish a build directory as a Tor v3 onion service with stem, and keep it up.

Owns: the ephemeral ED25519-V3 service (``ADD_ONION`` through stem) with the identity and reader keys that
onion_keys.py loads, waiting for its descriptor with HS_DESC progress, v3 client authorization
(``--private``), and supervision: a dead tor or server is restarted and the same address republished.

Must never: print (progress goes to the ``on_event`` callback), log or write a secret key anywhere but the
key file the user named, put a key inside a build directory, or publish a build that fails the audit.

Events passed to ``on_event(kind, detail)``: ``"bootstrap"`` (percent, summary), ``"publish"`` (uploads,
attempts), ``"published"`` (a :class:`Published`), ``"restart"`` (a sentence).
"""

from __future__ import annotations

import logging
import os
import queue
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Self

import stem
from stem.control import EventType

from mirror import balance, keys, pow
from mirror import tor as torlib
from mirror.errors import BuildError, PublishError, TorError
from mirror.onion_keys import ReaderKey, load_reader_key, load_secret_key, service_id_of

log = logging.getLogger(__name__)


class _HideKeys(logging.Filter):
    """stem traces every control command it sends, ADD_ONION's secret key and the reader's x25519 key
    included (at level 5, which a handler at NOTSET shows): drop those records."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        return "ED25519-V3:" not in message and "x25519:" not in message


logging.getLogger("stem").addFilter(_HideKeys())

VIRTUAL_PORT = 80
UPLOAD_GRACE = 5  # seconds to wait for the other directories after the first upload succeeded
OnEvent = Callable[[str, object], None]


@dataclass(frozen=True)
class Published:
    """A published onion service, and what to tell readers and operators about it."""

    service_id: str
    reader_key: ReaderKey | None = None
    socks_port: int | None = None  # the private network's client, with --testnet

    @property
    def address(self) -> str:
        return f"{self.service_id}.onion"

    @property
    def url(self) -> str:
        return f"http://{self.address}/"

    @property
    def onion_location_header(self) -> str:
        return f"Onion-Location: {self.url}"

    @property
    def onion_location_meta(self) -> str:
        return f'<meta http-equiv="onion-location" content="{self.url}">'

    @property
    def curl_command(self) -> str | None:
        if self.socks_port is None:
            return None
        return f"curl --socks5-hostname 127.0.0.1:{self.socks_port} {self.url}"


def publish(controller, target: str, secret_key: bytes, *, reader_key: ReaderKey | None = None,
            pow_defenses: bool = False, on_event: OnEvent | None = None, timeout: float = 60) -> str:
    """Add the onion service for ``secret_key`` pointing at ``target``; return its service id once at
    least one HSDir has its descriptor."""
    events: queue.Queue = queue.Queue()
    controller.add_event_listener(events.put, EventType.HS_DESC)
    try:
        try:
            response = controller.create_ephemeral_hidden_service(
                {VIRTUAL_PORT: target}, key_type="ED25519-V3",
                key_content=key_content(secret_key, pow_defenses),
                discard_key=True, await_publication=False,
                client_auth_v3=reader_key.public if reader_key else None)
        except stem.ControllerError as e:
            if pow_defenses:
                raise pow.refused(e) from e
            raise PublishError(f"tor refused the onion service: {e}.") from e
        expected = service_id_of(secret_key)
        if response.service_id != expected:
            raise PublishError(f"tor published {response.service_id}, not the key's address {expected}.")
        await_upload(events, response.service_id, on_event, timeout)
    finally:
        controller.remove_event_listener(events.put)
    return response.service_id


def key_content(secret_key: bytes, pow_defenses: bool) -> str:
    """ADD_ONION's key, followed by the proof-of-work keywords when asked (stem has no argument for them)."""
    blob = keys.tor_key_blob(secret_key)
    return pow.key_content(blob) if pow_defenses else blob


def await_upload(events: queue.Queue, service_id: str, on_event: OnEvent | None, timeout: float) -> None:
    """Wait until every upload of ``service_id``'s descriptors has ended, at least one of them well.

    Returning at the first UPLOADED (as stem's ``await_publication`` does) lets a reader ask a directory
    that has no descriptor yet; tor then will not ask that directory again for 15 minutes. So this waits
    for the other uploads too, at most ``UPLOAD_GRACE`` seconds after the first success. Tor may report the
    address of an UPLOADED as UNKNOWN: it counts when its directory is one we saw an UPLOAD to.
    """
    deadline = time.monotonic() + timeout
    directories, attempts, uploaded, failed, first_ok = set(), 0, 0, [], None
    while True:
        until = deadline if first_ok is None else min(deadline, first_ok + UPLOAD_GRACE)
        try:
            event = events.get(timeout=max(0.0, until - time.monotonic()))
        except queue.Empty:
            if uploaded:
                return
            raise PublishError(f"the onion service's descriptor reached no directory within {timeout:g} s "
                               f"({attempts} upload(s) tried; failures: {', '.join(failed) or 'none'}).") from None
        if event.action == "UPLOAD" and event.address == service_id:
            directories.add(event.directory_fingerprint)
            attempts += 1
        elif event.action == "UPLOADED" and event.directory_fingerprint in directories:
            uploaded += 1
            first_ok = first_ok or time.monotonic()
        elif event.action == "FAILED" and event.directory_fingerprint in directories:
            failed.append(f"{event.directory_fingerprint[:8]} ({event.reason})")
        else:
            continue
        if on_event:
            on_event("publish", (uploaded, attempts))
        if uploaded and uploaded + len(failed) >= attempts:
            return


class OnionMirror:
    """The server, the tor and the onion service of one build directory, kept alive together."""

    def __init__(self, build_dir: Path, state_dir: Path, *, key_file: Path | None = None, private: bool = False,
                 network: dict | None = None, control_port: int | None = None, control_socket: Path | None = None,
                 password: str | None = None, timeout: float = 120, on_event: OnEvent | None = None,
                 balance_backend: str | None = None, pow_defenses: bool = False):
        self.build_dir, self.state_dir = Path(build_dir), Path(state_dir)
        self.network, self.timeout = network, timeout
        self.attach = {"control_port": control_port, "control_socket": control_socket, "password": password}
        self.on_event = on_event or (lambda kind, detail: None)
        self.balance_backend, self.pow_defenses = balance_backend, pow_defenses
        if balance_backend:
            balance.check_backend(balance_backend, key_file, private, pow_defenses,
                                  bool(control_port or control_socket))
        self.secret_key = load_secret_key(key_file, self.build_dir)
        self.reader_key = load_reader_key(key_file, self.secret_key) if private else None
        self.server = None
        self.tor: torlib.Tor | None = None
        self.published: Published | None = None
        self._unpublished = False  # tor was restarted but the service is not yet back

    def start(self) -> Published:
        """Serve, connect a tor and publish; on any failure everything started here is stopped again."""
        check_build(self.build_dir)
        self.state_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        try:
            self.server = start_server(self.build_dir, self.state_dir / "http.sock")
            self.tor = self._connect_tor()
            self._publish()
        except BaseException:
            self.close()
            raise
        return self.published

    def _connect_tor(self) -> torlib.Tor:
        progress = lambda percent, summary: self.on_event("bootstrap", (percent, summary))
        if self.attach["control_port"] or self.attach["control_socket"]:
            tor = torlib.attach(**self.attach, on_progress=progress, timeout=self.timeout)
            if self.pow_defenses:
                try:
                    pow.check_controller(tor.controller)
                except TorError:
                    tor.close()
                    raise
            return tor
        if self.pow_defenses:
            pow.check_program(torlib.find_program("tor"))
        return torlib.launch(self.state_dir / "tor", self.network, on_progress=progress, timeout=self.timeout)

    def _publish(self) -> None:
        target = f"unix:{self.server.socket_path}"
        if self.balance_backend:
            service_id = balance.publish_backend(self.tor.controller, self.state_dir / "backend", target,
                                                 self.secret_key, self.balance_backend, on_event=self.on_event,
                                                 timeout=self.timeout)
        else:
            service_id = publish(self.tor.controller, target, self.secret_key, reader_key=self.reader_key,
                                 pow_defenses=self.pow_defenses, on_event=self.on_event, timeout=self.timeout)
        self.published = Published(service_id, self.reader_key)
        self.on_event("published", self.published)

    def check(self) -> None:
        """One round of supervision: restart a dead server or tor and republish the same address."""
        if not server_alive(self.server):
            self.on_event("restart", "the server stopped; restarting it")
            self.server.stop()
            self.server = start_server(self.build_dir, self.state_dir / "http.sock")
        try:
            if not self.tor.alive():
                self.on_event("restart", "tor stopped; restarting it and republishing the same address")
                self._unpublished = True
                self.tor = self.tor.restart()
            if self._unpublished:
                self._publish()
                self._unpublished = False
        except TorError as e:  # tor still unreachable, or the publication timed out: next round tries again
            self.on_event("restart", f"that failed ({e.message}); trying again")

    def run(self, stop: threading.Event, interval: float = 0.5) -> None:
        """Supervise until ``stop`` is set."""
        while not stop.wait(interval):
            self.check()

    def close(self) -> None:
        """Remove the service, stop the tor we launched (never an attached one) and the server."""
        if self.tor is not None:
            if self.published and not self.tor.launched and self.tor.alive():
                try:
                    self.tor.controller.remove_ephemeral_hidden_service(self.published.service_id)
                except stem.ControllerError:
                    pass
            self.tor.close()
            self.tor = None
        if self.server is not None:
            self.server.stop()
            self.server = None

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def run(build_dir: Path, stop: threading.Event, *, testnet: bool = False, state_dir: Path | None = None,
        on_event: OnEvent | None = None, **options) -> None:
    """``mirror onion``: publish ``build_dir`` (into a private network with ``testnet``) until ``stop``.

    A bad key file or a build that fails the audit is refused before any tor starts."""
    from mirror.testnet import Testnet

    mirror = OnionMirror(build_dir, state_dir or default_state_dir(), on_event=on_event, **options)
    check_build(mirror.build_dir)
    if not testnet:
        _serve(mirror, stop)
        return
    say, timeout = mirror.on_event, mirror.timeout
    with Testnet().start(timeout, wait_for_client=False) as net:  # the service's tor bootstraps beside the client
        def announce(kind: str, detail) -> None:
            if kind == "published":  # announce only once the private network's client can fetch it
                detail = replace(detail, socks_port=net.socks_port)
                net.await_client(timeout)
                if detail.reader_key:  # the demo's client is the authorized reader
                    net.controller.msg(f"ONION_CLIENT_AUTH_ADD {detail.service_id} "
                                       f"x25519:{detail.reader_key.private_base64()}")
                await_reachable(detail.url, net.socks_port, timeout)
            say(kind, detail)

        mirror.network, mirror.state_dir, mirror.on_event = net.tor_options(), net.root / "service", announce
        _serve(mirror, stop)


def _serve(mirror: OnionMirror, stop: threading.Event) -> None:
    with mirror:
        mirror.start()
        mirror.run(stop)


def await_reachable(url: str, socks_port: int, timeout: float) -> None:
    """Fetch ``url`` through the SOCKS port until it answers 200, or raise PublishError."""
    import requests

    deadline = time.monotonic() + timeout
    proxies = {"http": f"socks5h://127.0.0.1:{socks_port}"}
    problem = "no answer"
    while time.monotonic() < deadline:
        try:
            if (status := requests.get(url, proxies=proxies, timeout=10).status_code) == 200:
                return
            problem = f"HTTP {status}"
        except requests.RequestException as e:
            problem = str(e)
        time.sleep(0.5)
    raise PublishError(f"{url} was published but did not answer through 127.0.0.1:{socks_port} "
                       f"within {timeout:g} s ({problem}).")


def default_state_dir() -> Path:
    base = os.environ.get("XDG_STATE_HOME") or Path.home() / ".local/state"
    return Path(base) / "mirror"


def check_build(build_dir: Path) -> None:
    """Refuse a directory that is not a build or fails the audit."""
    from mirror.build import gate

    if not (build_dir / "index.html").is_file():
        raise BuildError(f"{build_dir} has no index.html; build it first (mirror build) or name a build directory.")
    gate(build_dir)


def start_server(build_dir: Path, socket_path: Path):
    from mirror import serve

    socket_path.unlink(missing_ok=True)
    return serve.start(build_dir, socket_path=socket_path)


def server_alive(server) -> bool:
    """True if the server answers a HEAD request on its socket within 2 s (a hung server counts as dead)."""
    with socket.socket(socket.AF_UNIX) as probe:
        probe.settimeout(2)
        try:
            probe.connect(str(server.socket_path))
            probe.sendall(b"HEAD / HTTP/1.1\r\nHost: mirror\r\nConnection: close\r\n\r\n")
            answer = b""
            while chunk := probe.recv(4096):
                answer += chunk
        except OSError:
            return False
    return answer.startswith(b"HTTP/1.1 ")
