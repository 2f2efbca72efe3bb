"""mirror zip / verify throughput on a whole real site, beside Info-ZIP, Python's zipfile and coreutils.

    python -m bench.pack_throughput [SITE_DIR] [--runs N]

SITE_DIR defaults to ../shared/corpora/realsite/whatwg (about 47 MB, ~470 files). That site is not an
audited build (it has scripts), so the bench calls the archive writer directly: the audit is not timed.
"""

from __future__ import annotations

import os
import resource
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


def cpu_seconds() -> float:
    """CPU time of this process and its finished children (stable on a busy machine, unlike wall time)."""
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + children.ru_utime + children.ru_stime


def timed(action, runs: int) -> tuple[float, float]:
    """The median (wall, CPU) seconds of ``action()`` over ``runs`` runs."""
    walls, cpus = [], []
    for _ in range(runs):
        wall, cpu = time.perf_counter(), cpu_seconds()
        action()
        walls.append(time.perf_counter() - wall)
        cpus.append(cpu_seconds() - cpu)
    return statistics.median(walls), statistics.median(cpus)


def line(name: str, seconds: tuple[float, float], size: int) -> str:
    wall, cpu = seconds
    return (f"  {name:36s} wall {wall:6.2f} s {size / 1e6 / wall:6.1f} MB/s | "
            f"CPU {cpu:6.2f} s {size / 1e6 / max(cpu, 1e-9):6.1f} MB/s")


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
    print(f"site: {site} ({files} files, {size / 1e6:.1f} MB); median of {runs} run(s); MB/s of site bytes; "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        ours = tmp / "mirror.zip"
        zipped = timed(lambda: mirror_zip(site, ours, expanded), runs)
        rows = [("mirror zip (deflate 9, signed)", zipped, ours)]
        if shutil.which("zip"):
            infozip = tmp / "infozip.zip"
            rows.append(("Info-ZIP zip -X -9 -r", timed(lambda: (infozip.unlink(missing_ok=True),
                         run(["zip", "-X", "-9", "-q", "-r", str(infozip), "."], cwd=site)), runs), infozip))
        pyzip = tmp / "zipfile.zip"
        rows.append(("python zipfile (deflate 9)", timed(lambda: python_zipfile(site, pyzip), runs), pyzip))
        for name, seconds, out in rows:
            print(f"{line(name, seconds, size)}  -> {out.stat().st_size / 1e6:.1f} MB")
        checks = [("mirror verify", timed(lambda: mirror_verify(ours), runs)),
                  ("mirror verify --extract", timed(lambda: mirror_verify(ours, tmp / "x"), runs))]
        if shutil.which("unzip"):
            tested = timed(lambda: run(["unzip", "-tq", str(ours)]), runs)
            checks.append(("unzip -tq (CRC only, no signature)", tested))
        if shutil.which("sha256sum"):
            check_sums = ["sha256sum", "--quiet", "-c", ".mirror/SHA256SUMS"]
            summed = timed(lambda: run(check_sums, cwd=tmp / "x"), runs)
            checks.append(("sha256sum -c on the extracted copy", summed))
        for name, seconds in checks:
            print(line(name, seconds, size))


if __name__ == "__main__":
    main()
