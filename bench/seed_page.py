"""The seed page: cold build time (whole process) and size raw / gzip / brotli against its plain text.

    python -m bench.seed_page [--screenshots DIR]
"""

from __future__ import annotations

import gzip
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import brotli

ROOT = Path(__file__).resolve().parents[1]


def cold_build_seconds(runs: int = 5) -> list[float]:
    times = []
    with tempfile.TemporaryDirectory() as tmp:
        for n in range(runs):
            start = time.perf_counter()
            subprocess.run([sys.executable, "-m", "mirror", "build", "--site", str(ROOT / "site"),
                            "-o", f"{tmp}/out{n}"], check=True, capture_output=True)
            times.append(time.perf_counter() - start)
    return times


def sizes(html: bytes) -> dict[str, int]:
    from selectolax.lexbor import LexborHTMLParser

    tree = LexborHTMLParser(html.decode())
    for node in tree.css("head"):
        node.decompose()
    text = " ".join(tree.body.text(separator=" ").split()).encode()
    return {"raw": len(html), "gzip": len(gzip.compress(html, 9, mtime=0)), "brotli": len(brotli.compress(html)),
            "text": len(text), "text_brotli": len(brotli.compress(text))}


def screenshots(html_path: Path, out_dir: Path) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    shots = []
    for name, size in (("1000px", "1000,1400"), ("phone", "390,1400")):
        target = out_dir / f"seed-{name}.png"
        subprocess.run(["chromium", "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-javascript",
                        "--disable-background-networking", "--hide-scrollbars", f"--window-size={size}",
                        f"--screenshot={target}", html_path.as_uri()], check=True, capture_output=True)
        shots.append(target)
    return shots


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    times = cold_build_seconds()
    print(f"cold build (python -m mirror build, whole process): median {statistics.median(times):.3f} s, "
          f"min {min(times):.3f} s over {len(times)} runs")
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([sys.executable, "-m", "mirror", "build", "-o", f"{tmp}/site"], check=True,
                       capture_output=True, cwd=ROOT)
        page = Path(tmp, "site", "index.html")
        s = sizes(page.read_bytes())
        print(f"page: raw {s['raw']:,} B, gzip {s['gzip']:,} B, brotli {s['brotli']:,} B; plain text "
              f"{s['text']:,} B, brotli {s['text_brotli']:,} B; page/text brotli ratio "
              f"{s['brotli'] / s['text_brotli']:.3f} (goal <= 1.15)")
        if "--screenshots" in argv:
            out = Path(argv[argv.index("--screenshots") + 1])
            for shot in screenshots(page, out):
                print(f"screenshot: {shot}")


if __name__ == "__main__":
    main()
