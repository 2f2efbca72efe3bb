"""What a mirror zip holds, shared by the writer (pack.py) and the checker (verify.py).

Owns: the names and text formats of the archive's metadata, and the rule for which entry names are safe.
Never touches the filesystem.

An archive is the build directory's files (without the precompressed ``.mirror/gz`` and ``.mirror/br``
variants, which a reader of ``file://`` never needs) plus two metadata files::

    .mirror/SHA256SUMS       one "<sha256 hex>  <path>" line per other file, sorted by path: the format of
                             coreutils, so a reader can check an extracted copy with
                             `cd DIR && sha256sum -c .mirror/SHA256SUMS`, no mirror needed
    .mirror/SHA256SUMS.sig   the detached signature: who signed (a v3 onion address, which *is* the
                             ed25519 public key) and the ed25519 signature of SIGNED_PREFIX + SHA256SUMS

They live in ``.mirror/`` because that folder is already the build's never-served metadata: the reader
who double-clicks ``index.html`` never sees them, and servers and audits already skip the folder.
The signed message starts with SIGNED_PREFIX so a signature made with an onion's identity key can never
be mistaken for anything tor itself signs with that key.
"""

from __future__ import annotations

import base64
import binascii
import re
import unicodedata

META_DIR = ".mirror"
SUMS = f"{META_DIR}/SHA256SUMS"
SIGNATURE = f"{META_DIR}/SHA256SUMS.sig"
METADATA = (SUMS, SIGNATURE)
SKIPPED_DIRS = (f"{META_DIR}/gz/", f"{META_DIR}/br/")
SIGNED_PREFIX = b"mirror archive SHA256SUMS v1\x00"
SIGNATURE_MAGIC = "mirror-signature-v1"

SUM_LINE = re.compile(r"([0-9a-f]{64})  (.+)")
WINDOWS_DEVICES = frozenset(
    ["CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$"]
    + [f"{dev}{n}" for dev in ("COM", "LPT") for n in list("123456789") + ["\u00b9", "\u00b2", "\u00b3"]])
WINDOWS_FORBIDDEN = set('<>:"|?*')
MAX_NAME_BYTES = 1024
MAX_COMPONENT_BYTES = 255


class FormatError(ValueError):
    """A metadata file does not follow the format; the message says where."""


def unsafe_name(name: str) -> str | None:
    """Why ``name`` is unsafe to extract on Linux, macOS or Windows, or None if it is safe."""
    if not name:
        return "is empty"
    try:
        size = len(name.encode("utf-8"))
    except UnicodeEncodeError:
        return "is not valid UTF-8"
    if any(ord(c) < 32 or ord(c) == 127 for c in name):
        return "contains a control character"
    if "\\" in name:
        return "contains a backslash (a path separator on Windows)"
    if name.startswith("/"):
        return "is an absolute path"
    if re.match(r"[A-Za-z]:", name):
        return "starts with a drive letter"
    if size > MAX_NAME_BYTES:
        return f"is longer than {MAX_NAME_BYTES} bytes"
    parts = name.removesuffix("/").split("/")
    for part in parts:
        reason = _unsafe_component(part)
        if reason:
            return reason
    return None


def _unsafe_component(part: str) -> str | None:
    if part in ("", ".", ".."):
        return "contains a '..' component" if part == ".." else "contains an empty or '.' component"
    if set(part) & WINDOWS_FORBIDDEN:
        return "contains a character Windows forbids in names (<>:\"|?*)"
    if part[-1] in ". ":
        return "has a component ending in a dot or space (Windows drops it)"
    if part.split(".", 1)[0].rstrip(" ").upper() in WINDOWS_DEVICES:
        return f"uses the Windows device name {part.split('.', 1)[0]!r}"
    if len(part.encode("utf-8")) > MAX_COMPONENT_BYTES:
        return f"has a component longer than {MAX_COMPONENT_BYTES} bytes"
    return None


def fold(name: str) -> str:
    """The key under which two names land on the same file of a case-insensitive, normalising filesystem."""
    return unicodedata.normalize("NFC", name).casefold()


def shipped(rel: str) -> bool:
    """Whether a build directory's file goes into the archive."""
    return not rel.startswith(SKIPPED_DIRS) and rel not in METADATA


def format_sums(digests: dict[str, str]) -> bytes:
    """SHA256SUMS text for ``{path: sha256 hex}``, sorted by path."""
    return "".join(f"{digest}  {path}\n" for path, digest in sorted(digests.items())).encode("utf-8")


def parse_sums(data: bytes) -> dict[str, str]:
    """``{path: sha256 hex}`` from SHA256SUMS; raises FormatError naming the first bad line."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise FormatError(f"{SUMS} is not UTF-8 text") from None
    digests: dict[str, str] = {}
    for number, line in enumerate(text.split("\n")[:-1] if text.endswith("\n") else text.split("\n"), 1):
        match = SUM_LINE.fullmatch(line)
        if not match:
            raise FormatError(f"{SUMS} line {number} is not '<sha256 hex>  <path>'")
        digest, path = match.groups()
        if path in digests:
            raise FormatError(f"{SUMS} lists {path!r} twice")
        digests[path] = digest
    return digests


def format_signature(address: str, signature: bytes) -> bytes:
    return (f"{SIGNATURE_MAGIC}\nsigner: {address}\n"
            f"ed25519: {base64.b64encode(signature).decode('ascii')}\n").encode("ascii")


def parse_signature(data: bytes) -> tuple[str, bytes]:
    """(signer onion address, 64-byte signature) from the signature file; raises FormatError."""
    lines = data.decode("ascii", errors="replace").split("\n")
    if len(lines) != 4 or lines[0] != SIGNATURE_MAGIC or lines[3] != "" \
            or not lines[1].startswith("signer: ") or not lines[2].startswith("ed25519: "):
        raise FormatError(f"{SIGNATURE} is not a '{SIGNATURE_MAGIC}' file (magic, signer and ed25519 lines)")
    try:
        signature = base64.b64decode(lines[2].removeprefix("ed25519: "), validate=True)
    except binascii.Error:
        raise FormatError(f"{SIGNATURE} holds a signature that is not base64") from None
    return lines[1].removeprefix("signer: "), signature
