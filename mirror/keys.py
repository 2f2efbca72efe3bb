"""Ed25519 identities in tor's own key format: the onion service key doubles as the mirror's signing key.

Owns: reading and writing tor's ``hs_ed25519_secret_key`` / ``hs_ed25519_public_key`` files, the v3 onion
address of a public key (rend-spec-v3), and signing with tor's *expanded* secret key. Never logs, prints or
returns a secret in a message; never writes a key anywhere but the path it is given.

Tor stores the expanded secret key (64 bytes: the clamped scalar ``a``, then the 32-byte ``prefix``), not
the 32-byte seed most libraries want, so signing uses libsodium's low-level primitives (through PyNaCl)
to compute a standard RFC 8032 signature from ``a`` and ``prefix``::

    r = H(prefix || M) mod L;  R = r·B;  S = (r + H(R || A || M)·a) mod L;  signature = R || S

Any ed25519 implementation verifies the result against ``A = a·B``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import stat
from pathlib import Path

import nacl.bindings as sodium
import nacl.exceptions
import nacl.signing

from mirror.errors import KeyFileError

SECRET_HEADER = b"== ed25519v1-secret: type0 ==\x00\x00\x00"
PUBLIC_HEADER = b"== ed25519v1-public: type0 ==\x00\x00\x00"
SECRET_FILE = "hs_ed25519_secret_key"
PUBLIC_FILE = "hs_ed25519_public_key"
EXPANDED_BYTES = 64
PUBLIC_BYTES = 32
SIGNATURE_BYTES = 64
ONION_VERSION = b"\x03"
ONION_SUFFIX = ".onion"


def expand_seed(seed: bytes) -> bytes:
    """The 64-byte expanded secret key of a 32-byte RFC 8032 seed: clamp(SHA-512(seed)[:32]) || [32:]."""
    if len(seed) != 32:
        raise ValueError("an ed25519 seed is 32 bytes")
    digest = bytearray(hashlib.sha512(seed).digest())
    digest[0] &= 248
    digest[31] &= 127
    digest[31] |= 64
    return bytes(digest)


def generate_secret_key() -> bytes:
    """A fresh expanded secret key from a random seed (the seed itself is not kept, as tor does)."""
    return expand_seed(os.urandom(32))


def public_key(expanded: bytes) -> bytes:
    """A = a·B, the 32-byte public key of an expanded secret key."""
    _check_expanded(expanded)
    return sodium.crypto_scalarmult_ed25519_base_noclamp(_reduce(expanded[:32]))


def sign(expanded: bytes, message: bytes) -> bytes:
    """An RFC 8032 ed25519 signature (R || S, 64 bytes) of ``message`` made with an expanded secret key."""
    _check_expanded(expanded)
    scalar = _reduce(expanded[:32])
    prefix = expanded[32:]
    nonce = _reduce(hashlib.sha512(prefix + message).digest())
    point_r = sodium.crypto_scalarmult_ed25519_base_noclamp(nonce)
    challenge = _reduce(hashlib.sha512(point_r + public_key(expanded) + message).digest())
    s = sodium.crypto_core_ed25519_scalar_add(nonce, sodium.crypto_core_ed25519_scalar_mul(challenge, scalar))
    return point_r + s


def verify(public: bytes, message: bytes, signature: bytes) -> bool:
    """True if ``signature`` is a valid ed25519 signature of ``message`` by ``public`` (libsodium)."""
    if len(public) != PUBLIC_BYTES or len(signature) != SIGNATURE_BYTES:
        return False
    try:
        nacl.signing.VerifyKey(public).verify(message, signature)
    except (nacl.exceptions.BadSignatureError, nacl.exceptions.ValueError, nacl.exceptions.TypeError):
        return False
    return True


def onion_address(public: bytes) -> str:
    """The v3 onion address of a public key: base32(A || checksum || 0x03) + ".onion" (56 + 6 chars)."""
    if len(public) != PUBLIC_BYTES:
        raise ValueError("an ed25519 public key is 32 bytes")
    raw = public + _checksum(public) + ONION_VERSION
    return base64.b32encode(raw).decode("ascii").lower() + ONION_SUFFIX


def public_key_from_address(address: str) -> bytes:
    """The public key inside a v3 onion address; raises KeyFileError if it is not a valid v3 address."""
    label = address.strip().lower()
    label = label.removeprefix("http://").removeprefix("https://").rstrip("/")
    label = label.removesuffix(ONION_SUFFIX).rsplit(".", 1)[-1]
    try:
        raw = base64.b32decode(label.upper()) if len(label) == 56 else b""
    except binascii.Error:
        raw = b""
    if len(raw) != 35 or raw[34:] != ONION_VERSION or raw[32:34] != _checksum(raw[:32]):
        raise KeyFileError(f"{address!r} is not a valid v3 onion address (56 base32 characters with a "
                           "matching checksum, then .onion); check it for typos.")
    return raw[:32]


def tor_key_blob(expanded: bytes) -> str:
    """The key as ADD_ONION wants it (stem: key_type="ED25519-V3", key_content=this): base64 of 64 bytes."""
    _check_expanded(expanded)
    return base64.b64encode(expanded).decode("ascii")


def write_secret_key(path: Path, expanded: bytes) -> Path:
    """Write tor's ``hs_ed25519_secret_key`` file at ``path``: created 0600, atomically, never overwriting."""
    _check_expanded(expanded)
    return _write_new(Path(path), SECRET_HEADER + expanded, "secret key")


def write_public_key(path: Path, public: bytes) -> Path:
    """Write tor's ``hs_ed25519_public_key`` file at ``path`` (0600 like tor's, never overwriting)."""
    if len(public) != PUBLIC_BYTES:
        raise ValueError("an ed25519 public key is 32 bytes")
    return _write_new(Path(path), PUBLIC_HEADER + public, "public key")


def read_secret_key(path: Path) -> bytes:
    """The expanded secret key in tor's key file at ``path``; refuses a file others can read."""
    path = Path(path)
    data = _read_key_file(path, "secret key", private=True)
    if len(data) != len(SECRET_HEADER) + EXPANDED_BYTES or not data.startswith(SECRET_HEADER):
        raise KeyFileError(f"{path} is not a tor ed25519 secret key (expected the 32-byte header "
                           f"'== ed25519v1-secret: type0 ==' and {EXPANDED_BYTES} key bytes, found "
                           f"{len(data)} bytes); point --key at a HiddenServiceDir's {SECRET_FILE}.")
    return data[len(SECRET_HEADER):]


def read_public_key(path: Path) -> bytes:
    """The public key in tor's ``hs_ed25519_public_key`` file at ``path``."""
    path = Path(path)
    data = _read_key_file(path, "public key", private=False)
    if len(data) != len(PUBLIC_HEADER) + PUBLIC_BYTES or not data.startswith(PUBLIC_HEADER):
        raise KeyFileError(f"{path} is not a tor ed25519 public key (expected the '== ed25519v1-public: "
                           f"type0 ==' header and {PUBLIC_BYTES} key bytes, found {len(data)} bytes).")
    return data[len(PUBLIC_HEADER):]


def _read_key_file(path: Path, what: str, private: bool) -> bytes:
    try:
        with open(path, "rb") as f:
            info = os.fstat(f.fileno())
            if not stat.S_ISREG(info.st_mode):
                raise KeyFileError(f"{path} is not a regular file; point it at a {what} file.")
            if private and info.st_mode & 0o077:
                mode = stat.S_IMODE(info.st_mode)
                raise KeyFileError(f"{path} is readable by group or others (mode {mode:o}); a {what} must be "
                                   f"private: run `chmod 600 {path}`.")
            return f.read(4096)
    except FileNotFoundError:
        raise KeyFileError(f"{path} does not exist; check the path of the {what} file.") from None
    except IsADirectoryError:
        raise KeyFileError(f"{path} is a directory; point it at the {what} file inside it.") from None
    except PermissionError:
        raise KeyFileError(f"{path} cannot be read by this user; check its owner and mode.") from None


def _write_new(path: Path, data: bytes, what: str) -> Path:
    """Write ``data`` to a 0600 temporary file beside ``path``, then hard-link it into place (never over)."""
    exists = KeyFileError(f"{path} already exists; refusing to overwrite a {what}. Move it away first.")
    if path.exists() or path.is_symlink():
        raise exists
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.{os.urandom(4).hex()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    except OSError as e:
        raise KeyFileError(f"could not create the {what} file {path}: {e.strerror}.") from e
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.link(tmp, path)
    except FileExistsError:
        raise exists from None
    except OSError as e:
        raise KeyFileError(f"could not write the {what} file {path}: {e.strerror}.") from e
    finally:
        tmp.unlink(missing_ok=True)
    return path


def _checksum(public: bytes) -> bytes:
    return hashlib.sha3_256(b".onion checksum" + public + ONION_VERSION).digest()[:2]


def _reduce(value: bytes) -> bytes:
    """``value`` (32 or 64 little-endian bytes) mod L, as a 32-byte scalar."""
    return sodium.crypto_core_ed25519_scalar_reduce(value.ljust(64, b"\x00"))


def _check_expanded(expanded: bytes) -> None:
    if not isinstance(expanded, bytes) or len(expanded) != EXPANDED_BYTES:
        raise ValueError("an expanded ed25519 secret key is 64 bytes (scalar || prefix)")
