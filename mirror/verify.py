"""Check a mirror zip before anyone opens it, and extract it only when every check passed (``mirror verify``).

Owns: deciding whether an archive is whole, whose it is and whether it is safe to unpack, and the
extraction itself. Never prints: it returns a Report whose problems are one sentence each, and the CLI
prints them. Never decompresses anything before the size and ratio caps passed, and never writes a file
before every check passed.

Checks, in order (later ones run only when earlier ones leave something to check):
  1. it is a zip at all;
  2. every entry: a safe name (archive.unsafe_name), a regular file (no symlink or device), not
     encrypted, stored or deflated, no duplicate, no two names equal but for case or Unicode form, no
     file where another entry needs a folder;
  3. caps: number of entries, total unpacked size, compression ratio of each large entry and of the
     whole archive, and no two entries sharing bytes;
  4. the signature of SHA256SUMS, its signer (and that it is ``--onion`` when given);
  5. SHA256SUMS against the archive: no file missing or extra, every file's SHA-256 matches.
"""

from __future__ import annotations

import hashlib
import itertools
import logging
import os
import shutil
import stat
import tempfile
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path

from mirror import archive, keys
from mirror.errors import KeyFileError

log = logging.getLogger(__name__)

MAX_BYTES = 4 << 30  # what a mirror on a USB stick may unpack to
MAX_RATIO = 200  # deflate of real text rarely beats 20:1; a bomb is in the thousands
MAX_ENTRIES = 100_000
RATIO_FLOOR = 1 << 20  # entries smaller than this can't be bombs worth the name
CHUNK = 1 << 20
METADATA_CAPS = {archive.SUMS: 64 << 20, archive.SIGNATURE: 4096}
# what zipfile and zlib raise on a damaged, encrypted or exotic archive
UNREADABLE = (zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error, EOFError, ValueError, NotImplementedError,
              RuntimeError)


@dataclass(frozen=True)
class Limits:
    max_bytes: int = MAX_BYTES
    max_ratio: int = MAX_RATIO
    max_entries: int = MAX_ENTRIES


@dataclass
class Report:
    archive: Path
    problems: list[str] = field(default_factory=list)
    signer: str | None = None
    files: int = 0
    bytes: int = 0
    extracted: Path | None = None

    @property
    def ok(self) -> bool:
        return not self.problems


def verify(path: Path, onion: str | None = None, extract: Path | None = None,
           limits: Limits = Limits()) -> Report:
    """Check the archive at ``path``; with ``extract``, unpack it into that new or empty folder if all passed.

    Returns a Report; problems are sentences, never exceptions (only bugs escape)."""
    report = Report(Path(path))
    if extract is not None:
        _check_target(Path(extract), report)
    try:
        with zipfile.ZipFile(path) as zf:
            expected = _check(zf, onion, limits, report)
            if extract is not None and report.ok:
                _extract(zf, Path(extract), expected, report)
    except FileNotFoundError:
        report.problems.append("does not exist; check the path.")
    except IsADirectoryError:
        report.problems.append("is a folder, not a zip archive.")
    except UNREADABLE as e:
        report.problems.append(f"is not a readable zip archive ({e}).")
    return report


def _check(zf: zipfile.ZipFile, onion: str | None, limits: Limits, report: Report) -> dict[str, str] | None:
    """Run every check; returns the SHA-256 each file must have (metadata included) if the signature held."""
    infos = zf.infolist()
    report.problems += check_entries(infos)
    caps = check_caps(infos, limits, os.fstat(zf.fp.fileno()).st_size)
    report.problems += caps
    if caps:
        return None  # decompress nothing that may be a bomb
    files = {info.filename: info for info in infos if not info.is_dir()}
    report.files = len(files.keys() - set(archive.METADATA))
    report.bytes = sum(info.file_size for info in files.values())
    sums = _check_signature(zf, files, onion, report)
    if sums is not None:
        report.problems += check_contents(zf, files, sums)
    return sums


def check_entries(infos: list[zipfile.ZipInfo]) -> list[str]:
    """Problems with the entries themselves: names, types, flags, duplicates and collisions."""
    problems = []
    seen: dict[str, str] = {}
    for info in infos:
        name = info.filename
        reason = archive.unsafe_name(name) or _unsafe_type(info)
        if reason:
            problems.append(f"entry {name!r} {reason}; refusing to extract it.")
        folded = archive.fold(name.removesuffix("/"))
        if folded in seen:
            clash = "appears twice" if seen[folded] == name else \
                f"collides with {seen[folded]!r} (they differ only in case or Unicode form)"
            problems.append(f"entry {name!r} {clash}; one would overwrite the other.")
        seen.setdefault(folded, name)
    folders = {archive.fold(name[:i]) for name in seen.values() for i, c in enumerate(name) if c == "/"}
    for folded, name in seen.items():
        if not name.endswith("/") and folded in folders:
            problems.append(f"entry {name!r} is a file where other entries need a folder of the same name.")
    return problems


def _unsafe_type(info: zipfile.ZipInfo) -> str | None:
    mode = info.external_attr >> 16
    if info.create_system == 3 and stat.S_ISLNK(mode):
        return "is a symbolic link"
    if info.create_system == 3 and stat.S_IFMT(mode) not in (0, stat.S_IFREG, stat.S_IFDIR):
        return "is a device, pipe or socket"
    if info.flag_bits & 0x1:
        return "is encrypted"
    if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        return f"uses compression method {info.compress_type} (only stored and deflated are accepted)"
    if info.is_dir() and info.file_size:
        return "is a folder entry that carries data"
    return None


def check_caps(infos: list[zipfile.ZipInfo], limits: Limits, archive_size: int) -> list[str]:
    """Zip-bomb caps on the declared sizes (zipfile never unpacks more than an entry declares)."""
    problems = []
    if len(infos) > limits.max_entries:
        problems.append(f"holds {len(infos):,} entries, more than the cap of {limits.max_entries:,}.")
    total = sum(info.file_size for info in infos)
    if total > limits.max_bytes:
        problems.append(f"would unpack to {total:,} bytes, more than the cap of {limits.max_bytes:,}.")
    elif total > RATIO_FLOOR and total > limits.max_ratio * max(archive_size, 1):
        problems.append(f"would unpack to {total:,} bytes from {archive_size:,}, more than the cap of "
                        f"{limits.max_ratio}:1.")
    problems += _overlapping(infos)
    for info in infos:
        ratio = info.file_size / max(info.compress_size, 1)
        if info.file_size > RATIO_FLOOR and ratio > limits.max_ratio:
            problems.append(f"entry {info.filename!r} expands {ratio:,.0f} times ({info.file_size:,} bytes), "
                            f"more than the cap of {limits.max_ratio}:1.")
    return problems


def _overlapping(infos: list[zipfile.ZipInfo]) -> list[str]:
    """Entries whose data overlap (the trick of the densest zip bombs); ends are lower bounds."""
    spans = sorted((info.header_offset, info.header_offset + 30 + len(_raw_name(info)) + info.compress_size,
                    info.filename) for info in infos)
    return [f"entry {name!r} overlaps entry {later!r} in the archive's bytes (a zip-bomb construction)."
            for (_, end, name), (start, _, later) in itertools.pairwise(spans) if end > start]


def _raw_name(info: zipfile.ZipInfo) -> bytes:
    return info.filename.encode("utf-8" if info.flag_bits & 0x800 else "cp437", errors="replace")


def _check_signature(zf, files: dict[str, zipfile.ZipInfo], onion: str | None, report: Report):
    """The verified SHA256SUMS as ``{path: digest}``, or None (with problems added) if it can't be trusted."""
    absent = [name for name in archive.METADATA if name not in files]
    if absent:
        report.problems += [f"{name} is missing: this is not a signed mirror archive." for name in absent]
        return None
    oversized = [name for name, cap in METADATA_CAPS.items() if files[name].file_size > cap]
    if oversized:
        report.problems += [f"{name} is larger than {METADATA_CAPS[name]:,} bytes." for name in oversized]
        return None
    sums_bytes, signature_bytes = zf.read(files[archive.SUMS]), zf.read(files[archive.SIGNATURE])
    try:
        address, signature = archive.parse_signature(signature_bytes)
        sums = archive.parse_sums(sums_bytes)
        public = keys.public_key_from_address(address)
    except archive.FormatError as e:
        report.problems.append(f"{e}.")
        return None
    except KeyFileError as e:
        report.problems.append(f"{archive.SIGNATURE}: the signer {e.message}")
        return None
    if address != keys.onion_address(public):
        report.problems.append(f"{archive.SIGNATURE}: the signer {address!r} is not written as a bare onion "
                               "address.")
        return None
    if not keys.verify(public, archive.SIGNED_PREFIX + sums_bytes, signature):
        report.problems.append(f"the signature in {archive.SIGNATURE} does not match {archive.SUMS}: the "
                               "archive was changed after it was signed.")
        return None
    report.signer = address
    if onion is not None:
        _check_signer(public, address, onion, report)
    metadata = {name: hashlib.sha256(data).hexdigest() for name, data in
                ((archive.SUMS, sums_bytes), (archive.SIGNATURE, signature_bytes))}
    return sums | metadata


def _check_signer(public: bytes, address: str, onion: str, report: Report) -> None:
    try:
        expected = keys.public_key_from_address(onion)
    except KeyFileError as e:
        report.problems.append(f"--onion: {e.message}")
        return
    if expected != public:
        wanted = keys.onion_address(expected)
        report.problems.append(f"signed by {address}, not by {wanted} as --onion expects.")


def check_contents(zf: zipfile.ZipFile, files: dict[str, zipfile.ZipInfo], sums: dict[str, str]) -> list[str]:
    """SHA256SUMS against the archive: missing, extra and altered files."""
    problems = [f"{name!r} is listed in {archive.SUMS} but missing from the archive." for name in sums
                if name not in files]
    problems += [f"entry {name!r} is not listed in {archive.SUMS}: it was added after signing."
                 for name in files if name not in sums]
    for name, digest in sums.items():
        if name in files and name not in archive.METADATA:
            actual = _hash_entry(zf, files[name])
            if actual != digest:
                why = f" ({actual})." if actual.startswith("unreadable") else ": it was altered."
                problems.append(f"{name!r} does not match its SHA-256 in {archive.SUMS}{why}")
    return problems


def _hash_entry(zf: zipfile.ZipFile, info: zipfile.ZipInfo, sink=None) -> str:
    digest = hashlib.sha256()
    try:
        with zf.open(info) as f:
            while chunk := f.read(CHUNK):
                digest.update(chunk)
                if sink:
                    sink.write(chunk)
    except UNREADABLE as e:
        return f"unreadable: {e}"
    return digest.hexdigest()


def _check_target(target: Path, report: Report) -> None:
    if target.is_symlink() or (target.exists() and not target.is_dir()):
        report.problems.append(f"--extract {target} exists and is not a folder; choose a new or empty one.")
    elif target.is_dir() and any(target.iterdir()):
        report.problems.append(f"--extract {target} is not empty; choose a new or empty folder.")


def _extract(zf: zipfile.ZipFile, target: Path, expected: dict[str, str], report: Report) -> None:
    """Unpack into a fresh folder beside ``target``, re-hashing as it goes, then move it into place."""
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.partial-", dir=target.parent))
    except OSError as e:
        report.problems.append(f"--extract {target}: could not create a folder beside it ({e.strerror}).")
        return
    try:
        tmp.chmod(0o755)
        for info in zf.infolist():
            if not info.is_dir() and not _write_entry(zf, info, tmp, expected.get(info.filename)):
                report.problems.append(f"{info.filename!r} changed while it was being extracted; nothing was "
                                       "extracted.")
                return
        if target.is_dir():
            target.rmdir()
        os.replace(tmp, target)
        report.extracted = target
    except OSError as e:
        report.problems.append(f"--extract {target}: {e.strerror} ({e.filename}); nothing was extracted.")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _write_entry(zf: zipfile.ZipFile, info: zipfile.ZipInfo, root: Path, digest: str | None) -> bool:
    path = root.joinpath(*info.filename.split("/"))
    if not path.resolve().is_relative_to(root.resolve()):  # unreachable after check_entries; kept as a guard
        return False
    path.parent.mkdir(mode=0o755, parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644)
    with os.fdopen(fd, "wb") as sink:
        actual = _hash_entry(zf, info, sink)
    return actual == digest
