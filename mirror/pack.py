"""Build directory -> reproducible, signed zip (``mirror zip``).

Owns: choosing what an archive ships, writing its bytes reproducibly, signing its SHA256SUMS and the
default signing key's place. Never prints, never writes inside the build directory, and never puts a key
into an archive. The archive format is in archive.py; checking one is verify.py.

Reproducible means the same build and key give the same bytes anywhere, at any time: entries sorted by
their UTF-8 name, one timestamp (1980-01-01 00:00, the zip epoch), mode 0644 from a Unix "made by",
no extra fields, no directory entries, no owner ids, no comment, every name flagged UTF-8, and raw deflate
at level 9 (stored when deflate does not shrink the file). The zip structures are written here rather than
by ``zipfile`` so that no Python version's defaults can change them. Deflate comes from zlib: the same
zlib gives the same bytes (zlib-ng, a drop-in on some distributions, compresses differently).
ed25519 signatures are deterministic, so the signature adds no randomness.
"""

from __future__ import annotations

import hashlib
import logging
import os
import stat
import struct
import tempfile
import zlib
from dataclasses import dataclass
from pathlib import Path

from mirror import archive, keys
from mirror.errors import KeyFileError, PackError

log = logging.getLogger(__name__)

DOS_DATE = (0 << 9) | (1 << 5) | 1  # 1980-01-01
DOS_TIME = 0
UNIX_FILE = (stat.S_IFREG | 0o644) << 16
MADE_BY = (3 << 8) | 20  # Unix, zip 2.0
FLAG_UTF8 = 0x0800
STORED, DEFLATED = 0, 8
ZIP32_LIMIT = 0xFFFFFFFF
MAX_ENTRIES = 0xFFFF


@dataclass(frozen=True)
class Signer:
    expanded: bytes
    key_path: Path
    created: bool

    @property
    def address(self) -> str:
        return keys.onion_address(keys.public_key(self.expanded))


@dataclass(frozen=True)
class PackResult:
    out: Path
    files: int
    bytes_in: int
    bytes_out: int
    sha256: str  # of the zip itself: anyone who zips the same build with the same key gets this
    signer: str
    key_path: Path
    key_created: bool


def pack(build_dir: Path, out: Path | None = None, key_path: Path | None = None) -> PackResult:
    """Zip the audited build directory ``build_dir`` into ``out`` (default: ``<build_dir>.zip`` beside it)."""
    from mirror.build import gate

    root = Path(build_dir)
    if not root.is_dir():
        raise PackError(f"{root} is not a directory; give the build directory to zip (e.g. build/site).")
    out = Path(out) if out else root.resolve().parent / f"{root.resolve().name}.zip"
    if _inside(out, root):
        raise PackError(f"{out} is inside the build directory {root}; write the zip elsewhere with -o.")
    key_file = Path(key_path or default_key_path())
    if _inside(key_file, root):
        raise KeyFileError(f"the key {key_file} is inside the build directory {root}, so it would be "
                           "served and zipped; move it out of the build directory and treat it as exposed.")
    gate(root)
    files = collect(root)
    signer = load_signer(key_path)
    bytes_out, digest = write_archive(files, out, signer.expanded)
    return PackResult(out, len(files), sum(path.stat().st_size for path in files.values()), bytes_out, digest,
                      signer.address, signer.key_path, signer.created)


def default_key_path() -> Path:
    """Where ``mirror zip`` keeps its own signing key when none is given: $XDG_DATA_HOME/mirror/."""
    data_home = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(data_home) / "mirror" / "signing_key"


def load_signer(key_path: Path | None = None) -> Signer:
    """The key at ``key_path`` (a key file or a HiddenServiceDir), else the default key, made on first use."""
    if key_path:
        path = Path(key_path) / keys.SECRET_FILE if Path(key_path).is_dir() else Path(key_path)
        return Signer(keys.read_secret_key(path), path, False)
    path = default_key_path()
    if path.exists() or path.is_symlink():
        return Signer(keys.read_secret_key(path), path, False)
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    expanded = keys.generate_secret_key()
    keys.write_secret_key(path, expanded)
    log.info("made a new signing key at %s", path)
    return Signer(expanded, path, True)


def collect(root: Path) -> dict[str, Path]:
    """``{archive name: path}`` of every file the archive ships; refuses links, specials and unsafe names."""
    files: dict[str, Path] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for name in dirnames + filenames:
            path = Path(dirpath) / name
            rel = path.relative_to(root).as_posix()
            mode = path.lstat().st_mode
            if stat.S_ISLNK(mode) or not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
                raise PackError(f"{path} is a symlink or special file; a mirror holds regular files only. "
                                "Replace it with the file itself or remove it, then rebuild.")
            if stat.S_ISREG(mode) and archive.shipped(rel):
                reason = archive.unsafe_name(rel)
                if reason:
                    raise PackError(f"{path}: the name {reason}, so the archive could not be unpacked safely "
                                    "everywhere; rename it.")
                files[rel] = path
    _refuse_collisions(root, files)
    if not files:
        raise PackError(f"{root} holds no files to zip; build the site first.")
    return dict(sorted(files.items(), key=lambda item: item[0].encode("utf-8")))


def _refuse_collisions(root: Path, files: dict[str, Path]) -> None:
    seen: dict[str, str] = {}
    for rel in files:
        other = seen.setdefault(archive.fold(rel), rel)
        if other != rel:
            raise PackError(f"{root}: {rel!r} and {other!r} differ only in case or Unicode form and would "
                            "overwrite each other on Windows and macOS; rename one.")


def write_archive(files: dict[str, Path], out: Path, expanded: bytes) -> tuple[int, str]:
    """Write ``files`` (sorted) plus SHA256SUMS and its signature to ``out`` atomically; (size, sha256)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as f:
            writer = ZipWriter(f)
            digests = {rel: writer.add(rel, path.read_bytes()) for rel, path in files.items()}
            sums = archive.format_sums(digests)
            signature = keys.sign(expanded, archive.SIGNED_PREFIX + sums)
            writer.add(archive.SUMS, sums)
            writer.add(archive.SIGNATURE, archive.format_signature(
                keys.onion_address(keys.public_key(expanded)), signature))
            size = writer.finish()
        tmp.chmod(0o644)
        os.replace(tmp, out)
    except OSError as e:
        tmp.unlink(missing_ok=True)
        raise PackError(f"could not write {out}: {e.strerror or e}.") from e
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return size, writer.digest.hexdigest()


class ZipWriter:
    """A minimal, fixed-format zip writer: local headers and data, then the central directory."""

    def __init__(self, f):
        self.f = f
        self.digest = hashlib.sha256()
        self.offset = 0
        self.central: list[bytes] = []

    def add(self, name: str, data: bytes) -> str:
        """Append one file entry; returns the SHA-256 hex of ``data``."""
        raw_name = name.encode("utf-8")
        packed = _deflate(data)
        method = DEFLATED if len(packed) < len(data) else STORED
        body = packed if method == DEFLATED else data
        crc = zlib.crc32(data)
        if len(self.central) >= MAX_ENTRIES or max(self.offset, len(data)) >= ZIP32_LIMIT:
            raise PackError("the site is too large for a plain zip (65,535 files or 4 GiB); split it.")
        version = 20 if method == DEFLATED else 10
        fields = (version, FLAG_UTF8, method, DOS_TIME, DOS_DATE, crc, len(body), len(data), len(raw_name), 0)
        self.central.append(struct.pack("<IH", 0x02014B50, MADE_BY) + struct.pack("<HHHHHIIIHH", *fields)
                            + struct.pack("<HHHII", 0, 0, 0, UNIX_FILE, self.offset) + raw_name)
        self._write(struct.pack("<IHHHHHIIIHH", 0x04034B50, *fields) + raw_name + body)
        return hashlib.sha256(data).hexdigest()

    def finish(self) -> int:
        start = self.offset
        for record in self.central:
            self._write(record)
        count = len(self.central)
        if self.offset >= ZIP32_LIMIT:
            raise PackError("the site is too large for a plain zip (4 GiB with its index); split it.")
        self._write(struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, count, count, self.offset - start, start, 0))
        return self.offset

    def _write(self, data: bytes) -> None:
        self.f.write(data)
        self.digest.update(data)
        self.offset += len(data)


def _deflate(data: bytes) -> bytes:
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15, 8, zlib.Z_DEFAULT_STRATEGY)
    return compressor.compress(data) + compressor.flush()


def _inside(path: Path, root: Path) -> bool:
    return path.resolve().is_relative_to(root.resolve())
