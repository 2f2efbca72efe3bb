"""The onion service's identity and its readers' keys, on disk.

Owns: ``--key FILE`` (tor's ``hs_ed25519_secret_key``, read and written through keys.py), the reader's x25519
key pair of v3 client authorization (``ReaderKey``) and ``FILE.auth_private`` beside the key.

Must never: write a key inside the build directory, overwrite a key file, accept one that group or others
can read, or log a key (only paths).
"""

from __future__ import annotations

import base64
import logging
import os
import stat
import tempfile
from dataclasses import dataclass
from pathlib import Path

import nacl.exceptions
import nacl.public

from mirror import keys
from mirror.errors import KeyFileError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ReaderKey:
    """A reader's x25519 key pair for v3 client authorization (base32, no padding, as tor writes them)."""

    private: str  # what the reader pastes into Tor Browser
    public: str  # what the service is given (ClientAuthV3)

    def auth_private_line(self, service_id: str) -> str:
        """The line a tor client puts in a file in its ClientOnionAuthDir (``NAME.auth_private``)."""
        return f"{service_id}:descriptor:x25519:{self.private}"

    @classmethod
    def generate(cls) -> ReaderKey:
        return cls.from_private(bytes(nacl.public.PrivateKey.generate()))

    @classmethod
    def from_private(cls, raw: bytes) -> ReaderKey:
        public = bytes(nacl.public.PrivateKey(raw).public_key)
        return cls(_b32(raw), _b32(public))

    def private_base64(self) -> str:
        """The private key as tor's ONION_CLIENT_AUTH_ADD wants it."""
        return base64.b64encode(base64.b32decode(self.private + "====")).decode()


def service_id_of(secret_key: bytes) -> str:
    """The onion address of a key, without ".onion" (what tor calls the service id)."""
    return keys.onion_address(keys.public_key(secret_key)).removesuffix(".onion")


def load_secret_key(key_file: Path | None, build_dir: Path) -> bytes:
    """The service's identity: from ``key_file`` (created 0600 when missing) or fresh for this run."""
    if key_file is None:
        return keys.generate_secret_key()
    key_file = Path(key_file)
    if key_file.resolve().is_relative_to(Path(build_dir).resolve()):
        raise KeyFileError(f"{key_file} is inside the build directory {build_dir}, which is published; "
                           "keep the key elsewhere (for example ~/.config/mirror/onion.key).")
    if key_file.exists():
        return keys.read_secret_key(key_file)
    secret = keys.generate_secret_key()
    keys.write_secret_key(key_file, secret)
    log.info("new onion identity saved in %s (mode 0600)", key_file)
    return secret


def load_reader_key(key_file: Path | None, secret_key: bytes) -> ReaderKey:
    """The reader's key pair: kept beside ``--key FILE`` in ``FILE.auth_private`` (0600, the very line a
    tor client puts in its ClientOnionAuthDir) so readers keep their key across restarts; fresh for this
    run without --key."""
    if key_file is None:
        return ReaderKey.generate()
    path = Path(f"{key_file}.auth_private")
    if not path.exists():
        reader = ReaderKey.generate()
        _write_private(path, reader.auth_private_line(service_id_of(secret_key)) + "\n")
        return reader
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        raise KeyFileError(f"{path} is readable by group or others (mode {mode:o}); run `chmod 600 {path}`.")
    try:
        raw = base64.b32decode(path.read_text().strip().rsplit(":", 1)[-1] + "====")
        return ReaderKey.from_private(raw)
    except (ValueError, nacl.exceptions.CryptoError) as e:
        raise KeyFileError(f"{path} does not hold a reader's x25519 key; move it away to make a new one.") from e


def _b32(raw: bytes) -> str:
    return base64.b32encode(raw).decode().rstrip("=")


def _write_private(path: Path, text: str) -> None:
    """Write a new 0600 file atomically (never overwriting)."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)  # mkstemp creates 0600
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
        os.link(tmp, path)
    except FileExistsError:
        raise KeyFileError(f"{path} already exists; refusing to overwrite it.") from None
    finally:
        os.unlink(tmp)
