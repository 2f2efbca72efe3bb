"""mirror zip / mirror verify throughput on a whole real site, beside Info-ZIP, Python's zipfile and coreutils.

    python -m bench.pack_throughput [SITE_DIR] [--runs N]

SITE_DIR defaults to ../shared/corpora/realsite/whatwg (about 47 MB, ~470 files). That site is not an
audited build (it has scripts), so the bench calls the archive writer directly: the audit is not timed.
"""

from __future__ import annotations

import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

from mirror import keys, pack, verify

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_SITE = ROOT.parent / "shared" / "corpora" / "realsite" / "whatwg"


def timed(action, runs: int) -> float:
    """The median wall time of ``action()`` over ``runs`` runs."""
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def mirror_zip(site: Path, out: Path, expanded: bytes) -> None:
    pack.write_archive(pack.collect(site), out, expanded)


def python_zipfile(site: Path, out: Path) -> None:
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        for path in sorted(site.rglob("*")):
            if path.is_file():
                zf.write(path, path.relative_to(site).as_posix())


def mirror_verify(archive: Path, extract: Path | None = None) -> None:
    if extract:
        shutil.rmtree(extract, ignore_errors=True)
    report = verify.verify(archive, extract=extract)
    if not report.ok:
        raise SystemExit(f"verify failed: {report.problems[:3]}")


def run(cmd: list[str], cwd: Path | None = None) -> None:
    subprocess.run(cmd, check=True, capture_output=True, cwd=cwd)


def main() -> None:
    args = [a for a in sys.argv[1:] if not a.startswith("--") and not a.isdigit()]
    runs = int(sys.argv[sys.argv.index("--runs") + 1]) if "--runs" in sys.argv else 3
    site = Path(args[0]) if args else DEFAULT_SITE
    if not site.is_dir():
        print(f"skipped: {site} is absent (the shared corpora are not beside this clone)")
        return
    size = sum(p.stat().st_size for p in site.rglob("*") if p.is_file())
    files = len(pack.collect(site))
    expanded = keys.generate_secret_key()
    print(f"site: {site} ({files} files, {size / 1e6:.1f} MB); median of {runs} run(s); MB/s of site bytes")
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        ours = tmp / "mirror.zip"
        rows = [("mirror zip (deflate 9, signed)", timed(lambda: mirror_zip(site, ours, expanded), runs), ours)]
        if shutil.which("zip"):
            infozip = tmp / "infozip.zip"
            rows.append(("Info-ZIP zip -X -9 -r", timed(lambda: (infozip.unlink(missing_ok=True),
                         run(["zip", "-X", "-9", "-q", "-r", str(infozip), "."], cwd=site)), runs), infozip))
        pyzip = tmp / "zipfile.zip"
        rows.append(("python zipfile (deflate 9)", timed(lambda: python_zipfile(site, pyzip), runs), pyzip))
        for name, seconds, out in rows:
            print(f"  {name:34s} {seconds:6.2f} s  {size / 1e6 / seconds:6.1f} MB/s  -> {out.stat().st_size / 1e6:.1f} MB")
        checks = [("mirror verify", timed(lambda: mirror_verify(ours), runs)),
                  ("mirror verify --extract", timed(lambda: mirror_verify(ours, tmp / "x"), runs))]
        if shutil.which("unzip"):
            checks.append(("unzip -tq (CRC only, no signature)", timed(lambda: run(["unzip", "-tq", str(ours)]), runs)))
        if shutil.which("sha256sum"):
            checks.append(("sha256sum -c on the extracted copy",
                           timed(lambda: run(["sha256sum", "--quiet", "-c", ".mirror/SHA256SUMS"], cwd=tmp / "x"),
                                 runs)))
        for name, seconds in checks:
            print(f"  {name:34s} {seconds:6.2f} s  {size / 1e6 / seconds:6.1f} MB/s")


if __name__ == "__main__":
    main()
