"""One onion address over several machines, with Onionbalance: the identities and files each machine needs.

Owns ``mirror balance init``: the frontend identity (PEM PKCS8 Ed25519, the format Onionbalance reads), its
``config.yaml``, and per new backend a HiddenServiceDir (tor-format keys, ``hostname``, ``ob_config`` naming
the frontend) with the torrc lines that make it an Onionbalance instance; and the torrc options and folder
``mirror onion --balance-backend`` launches its tor with. Running Onionbalance itself is balancer.py's job.

Must never: overwrite a key, write a key inside a build directory, write a key readable by others (every
file here is created 0600 in 0700 folders), or put a secret in a message or a log line.

Limits a user must know (README "More than one machine"): a frontend cannot use v3 client authorization,
and its descriptors show that Onionbalance is in use (two introduction points per backend).
"""

from __future__ import annotations

import logging
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from mirror import keys
from mirror.errors import BalanceError, KeyFileError

log = logging.getLogger(__name__)

FRONTEND_KEY = "frontend.key"
CONFIG = "config.yaml"
OB_CONFIG = "ob_config"
HOSTNAME = "hostname"
MAX_BACKENDS = 10  # 2 introduction points per backend in the frontend descriptor; tor takes at most 20
VIRTUAL_PORT = 80


@dataclass(frozen=True)
class Backend:
    """One backend instance: its address, and the HiddenServiceDir made for it (None if it already existed)."""

    name: str
    address: str
    hs_dir: Path | None = None


@dataclass(frozen=True)
class Plan:
    """What ``init`` wrote, and what goes to which machine."""

    directory: Path
    frontend: str
    key_file: Path
    config_file: Path
    backends: tuple[Backend, ...]

    def instructions(self) -> list[str]:
        """The lines telling an operator what to copy where (the CLI prints them)."""
        lines = [f"Frontend address: {self.frontend}",
                 f"On the Onionbalance machine keep {self.key_file} (0600) and {self.config_file};",
                 f"  run there: mirror balance run --config {self.config_file}"]
        for backend in self.backends:
            lines.append(f"{backend.name} ({backend.address}):")
            if backend.hs_dir is None:
                lines += [f"  in that machine's HiddenServiceDir, create {OB_CONFIG} containing:",
                          f"    {ob_config_text(self.frontend).strip()}",
                          "  and add to that service's torrc lines:  HiddenServiceOnionbalanceInstance 1"]
                continue
            lines += [f"  copy {backend.hs_dir}/ to that machine (keep it 0700, its files 0600), then either",
                      f"    mirror onion --balance-backend {self.frontend} "
                      f"--key {backend.hs_dir / keys.SECRET_FILE} BUILD_DIR",
                      f"  or, with the machine's own tor, add {backend.hs_dir / 'torrc'} to its torrc"]
        lines.append("Limits: no client authorization with Onionbalance, and its descriptors show it is in use.")
        return lines


def init(directory: Path, *, new_backends: int = 0, addresses: tuple[str, ...] = ()) -> Plan:
    """Create the frontend identity, ``config.yaml`` and ``new_backends`` backend folders in ``directory``;
    ``addresses`` names backends that exist already. Refuses to overwrite anything."""
    directory = Path(directory).expanduser().absolute()
    existing = [Backend(f"backend-{i}", normal_address(a)) for i, a in enumerate(addresses, 1)]
    count = new_backends + len(existing)
    if new_backends < 0 or not 1 <= count <= MAX_BACKENDS:
        raise BalanceError(f"a balanced onion service needs 1 to {MAX_BACKENDS} backends (got {count}); "
                           "use --backends N and/or --backend ADDRESS.onion.")
    refuse_build_dir(directory)
    names = [f"backend-{i}" for i in range(len(existing) + 1, count + 1)]
    for path in [directory / FRONTEND_KEY, directory / CONFIG, *(directory / n for n in names)]:
        if path.exists() or path.is_symlink():
            raise KeyFileError(f"{path} already exists; refusing to overwrite a balanced setup. "
                               "Move it away, or choose another --dir.")
    private_dir(directory)
    frontend = write_frontend_key(directory / FRONTEND_KEY)
    created = [make_backend_dir(directory / name, name, frontend) for name in names]
    backends = tuple(existing + created)
    write_private(directory / CONFIG, config_text(FRONTEND_KEY, backends))
    if existing:
        write_private(directory / OB_CONFIG, ob_config_text(frontend))
    log.info("balanced setup for %s written to %s", frontend, directory)
    return Plan(directory, frontend, directory / FRONTEND_KEY, directory / CONFIG, backends)


def normal_address(address: str) -> str:
    """``address`` as ``<56 chars>.onion``, checked (raises KeyFileError naming it)."""
    return keys.onion_address(keys.public_key_from_address(address))


def write_frontend_key(path: Path) -> str:
    """A fresh Ed25519 frontend key at ``path`` (PEM PKCS8, 0600, never overwriting); returns its address."""
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    keys._write_new(path, pem, "frontend key")
    raw = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return keys.onion_address(raw)


def read_frontend_address(path: Path) -> str:
    """The onion address of the frontend key at ``path``; refuses a key others can read."""
    path = Path(path)
    try:
        mode = path.stat().st_mode
        data = path.read_bytes()
    except OSError as e:
        raise KeyFileError(f"{path} cannot be read ({e.strerror}); name the frontend key "
                           f"`mirror balance init` wrote ({FRONTEND_KEY}).") from e
    if mode & 0o077:
        raise KeyFileError(f"{path} is readable by group or others (mode {mode & 0o777:o}); "
                           f"run `chmod 600 {path}`.")
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as e:
        raise KeyFileError(f"{path} is not an unencrypted PEM private key.") from e
    if not isinstance(key, Ed25519PrivateKey):
        raise KeyFileError(f"{path} is not an Ed25519 key; Onionbalance needs one (mirror balance init).")
    return keys.onion_address(key.public_key().public_bytes(serialization.Encoding.Raw,
                                                            serialization.PublicFormat.Raw))


def make_backend_dir(hs_dir: Path, name: str, frontend: str) -> Backend:
    """A HiddenServiceDir for a new backend: its keys, hostname, ob_config and a torrc snippet."""
    secret = keys.generate_secret_key()
    address = keys.onion_address(keys.public_key(secret))
    private_dir(hs_dir)
    fill_backend_dir(hs_dir, secret, frontend)
    write_private(hs_dir / "torrc", "\n".join(torrc_lines(backend_options(
        Path("/var/lib/tor") / f"mirror-{name}", "unix:/run/mirror/http.sock"))) + "\n")
    return Backend(name, address, hs_dir)


def fill_backend_dir(hs_dir: Path, secret: bytes, frontend: str) -> str:
    """Write the key files, hostname and ob_config of a backend into ``hs_dir``; return its address."""
    address = keys.onion_address(keys.public_key(secret))
    keys.write_secret_key(hs_dir / keys.SECRET_FILE, secret)
    keys.write_public_key(hs_dir / keys.PUBLIC_FILE, keys.public_key(secret))
    write_private(hs_dir / HOSTNAME, address + "\n")
    write_private(hs_dir / OB_CONFIG, ob_config_text(frontend))
    return address


def prepare_backend(hs_dir: Path, secret: bytes, frontend: str) -> str:
    """Recreate ``hs_dir`` (a folder of mirror's own state) as the HiddenServiceDir of a backend whose
    identity is ``secret`` and whose frontend is ``frontend``; return the backend's address."""
    frontend = normal_address(frontend)
    if keys.onion_address(keys.public_key(secret)) == frontend:
        raise BalanceError(f"the backend key is the frontend's own identity ({frontend}); pass a backend's "
                           f"key (backend-N/{keys.SECRET_FILE} from `mirror balance init`).")
    shutil.rmtree(hs_dir, ignore_errors=True)
    private_dir(hs_dir)
    return fill_backend_dir(hs_dir, secret, frontend)


def check_backend(frontend: str, key_file: Path | None, private: bool, pow_defenses: bool,
                  attached: bool) -> None:
    """Refuse the options ``mirror onion --balance-backend`` cannot honour, saying why."""
    normal_address(frontend)
    if key_file is None:
        raise BalanceError("a backend needs the fixed identity Onionbalance's config names: pass --key "
                           f"backend-N/{keys.SECRET_FILE} from `mirror balance init`.")
    if private:
        raise BalanceError("Onionbalance cannot serve a private (client-authorized) onion service; "
                           "drop --private or --balance-backend.")
    if pow_defenses:
        raise BalanceError("Onionbalance 0.2.4 does not copy pow-params into the frontend's descriptor, so "
                           "clients would never solve a puzzle; drop --pow or --balance-backend.")
    if attached:
        raise BalanceError("--balance-backend launches its own tor (the service needs ob_config beside its "
                           "keys, in a folder that tor reads); drop --control-port/--control-socket.")


def publish_backend(controller, hs_dir: Path, target: str, secret: bytes, frontend: str, *,
                    on_event=None, timeout: float = 120) -> str:
    """Publish the backend ``secret`` as an Onionbalance instance of ``frontend`` in the tor behind
    ``controller`` (SETCONF of a HiddenServiceDir service, so ob_config sits beside its keys); return its
    service id once a directory holds its descriptor."""
    import queue

    import stem
    from stem.control import EventType

    from mirror.onion import await_upload

    service_id = prepare_backend(hs_dir, secret, frontend).removesuffix(".onion")
    events: queue.Queue = queue.Queue()
    controller.add_event_listener(events.put, EventType.HS_DESC)
    try:
        try:
            controller.set_options(list(backend_options(hs_dir, target).items()))
        except stem.ControllerError as e:
            raise BalanceError(f"tor refused the backend service in {hs_dir}: {e}.") from e
        await_upload(events, service_id, on_event, timeout)
    finally:
        controller.remove_event_listener(events.put)
    return service_id


def backend_options(hs_dir: Path, target: str) -> dict[str, str]:
    """The torrc options that publish ``hs_dir`` as an Onionbalance instance forwarding port 80 to
    ``target`` (``unix:PATH`` or ``HOST:PORT``). Order matters: HiddenServiceDir comes first."""
    return {"HiddenServiceDir": str(hs_dir), "HiddenServicePort": f"{VIRTUAL_PORT} {target}",
            "HiddenServiceOnionbalanceInstance": "1"}


def torrc_lines(options: dict[str, str]) -> list[str]:
    return [f"{key} {value}" for key, value in options.items()]


def ob_config_text(frontend: str) -> str:
    return f"MasterOnionAddress {frontend}\n"


def config_text(key_name: str, backends: tuple[Backend, ...]) -> str:
    """Onionbalance's config.yaml (the key path is relative to the config's folder)."""
    lines = ["services:", f"- key: {key_name}", "  instances:"]
    for backend in backends:
        lines += [f"  - address: {backend.address}", f"    name: {backend.name}"]
    return "\n".join(lines) + "\n"


def refuse_build_dir(directory: Path) -> None:
    """Keys never go inside a build directory (it is published and zipped)."""
    for folder in [directory, *directory.parents]:
        if (folder / ".mirror" / "manifest.json").exists():
            raise KeyFileError(f"{directory} is inside the build directory {folder}, which is published; "
                               "choose a --dir outside it (for example ~/.local/state/mirror/balance).")


def private_dir(path: Path) -> None:
    try:
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
        path.chmod(0o700)
    except OSError as e:
        raise BalanceError(f"could not create the folder {path}: {e.strerror}.") from e


def write_private(path: Path, text: str) -> None:
    """A new 0600 file, written atomically; never overwrites."""
    keys._write_new(path, text.encode(), path.name)


def default_directory() -> Path:
    base = os.environ.get("XDG_STATE_HOME") or Path.home() / ".local/state"
    return Path(base) / "mirror" / "balance"
