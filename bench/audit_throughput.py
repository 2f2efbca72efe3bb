"""mirror check throughput on real pages (one core), beside the parsers it stands on and a peer.

    python -m bench.audit_throughput [DIR] [--runs N]

DIR defaults to ../shared/corpora/realpages/readability (130 real pages, ~26 MB, scripts and trackers
intact). Figures are MB of input per second of CPU time of this single-threaded process (one core; wall
time is shown too, but on a shared machine it measures the neighbours). Goal: >= 20 MB/s.

Rows:
  mirror audit                 the whole audit (audit.audit_dir), what `mirror check` runs
  mirror audit, CSS uncut      the same with every stylesheet tokenized whole by tinycss2
  lexbor parse only            selectolax/lexbor building the trees, nothing checked (the floor)
  stdlib html.parser only      Python's own tokenizer, nothing checked
  bleach.clean (peer)          a sanitizer over the same pages (html5lib), on the first 3 MB
"""

from __future__ import annotations

import argparse
import time
from html.parser import HTMLParser
from pathlib import Path

from selectolax.lexbor import LexborHTMLParser

from mirror import audit, audit_css

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DIR = ROOT.parent / "shared" / "corpora" / "realpages" / "readability"
PEER_BYTES = 3_000_000


def timed(action, runs: int) -> tuple[float, float]:
    """The best (wall, CPU) seconds of ``action()`` over ``runs`` runs."""
    walls, cpus = [], []
    for _ in range(runs):
        wall, cpu = time.perf_counter(), time.process_time()
        action()
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return min(walls), min(cpus)


def line(name: str, seconds: tuple[float, float], size: int) -> str:
    wall, cpu = seconds
    return (f"  {name:30s} CPU {cpu:6.2f} s {size / 1e6 / max(cpu, 1e-9):7.1f} MB/s | "
            f"wall {wall:6.2f} s {size / 1e6 / max(wall, 1e-9):7.1f} MB/s")


def audit_uncut(folder: Path) -> None:
    original = audit_css.split_pieces
    audit_css.split_pieces = lambda text: None  # None: tokenize the whole sheet
    try:
        audit.audit_dir(folder)
    finally:
        audit_css.split_pieces = original


def stdlib_parse(pages: list[bytes]) -> None:
    for data in pages:
        parser = HTMLParser(convert_charrefs=True)
        parser.feed(data.decode("utf-8", "replace"))
        parser.close()


def bleach_clean(pages: list[bytes]) -> int:
    import bleach

    done = 0
    for data in pages:
        if done >= PEER_BYTES:
            break
        bleach.clean(data.decode("utf-8", "replace"))
        done += len(data)
    return done


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.audit_throughput", description=__doc__.split("\n")[0])
    parser.add_argument("folder", nargs="?", type=Path, default=DEFAULT_DIR)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args(argv)
    if not args.folder.is_dir():
        raise SystemExit(f"{args.folder} is not a folder; give a folder of pages (default: {DEFAULT_DIR}).")
    pages = [p.read_bytes() for p in sorted(args.folder.rglob("*")) if p.is_file()]
    size = sum(map(len, pages))
    report = audit.audit_dir(args.folder)
    print(f"{args.folder}: {len(pages)} files, {size / 1e6:.1f} MB, {len(report.findings)} findings "
          f"(best of {args.runs} runs)")
    ours = timed(lambda: audit.audit_dir(args.folder), args.runs)
    print(line("mirror audit", ours, size))
    print(line("mirror audit, CSS uncut", timed(lambda: audit_uncut(args.folder), 1), size))
    print(line("lexbor parse only", timed(lambda: [LexborHTMLParser(p) for p in pages], args.runs), size))
    print(line("stdlib html.parser only", timed(lambda: stdlib_parse(pages), 1), size))
    done: list[int] = []
    seconds = timed(lambda: done.append(bleach_clean(pages)), 1)
    print(line("bleach.clean (peer)", seconds, done[-1]))
    rate = size / 1e6 / ours[1]
    print(f"  goal >= 20 MB/s on one core: {'met' if rate >= 20 else 'NOT met'} ({rate:.1f} MB/s)")


if __name__ == "__main__":
    main()
