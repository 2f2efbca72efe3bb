"""A generated multi-page static site for the crawl tests and the crawl benchmark (deterministic).

``make_site(root)`` writes 41 pages with 205 assets (by default): a home page, sections (directory
URLs) and articles (.html), each with images, a stylesheet, and a background image named in that
stylesheet; navigation links between neighbours, a script the crawler must not fetch, and links to
another host it must not follow.
"""

from __future__ import annotations

import random
import struct
import zlib
from pathlib import Path

PARAGRAPH = ("Tor-friendly mirrors keep a reader's clicks on one host: no script, no tracker, no third-party "
             "request. This paragraph is filler so that pages weigh what real pages weigh. ")


def make_site(root: Path, pages: int = 41, assets_per_page: int = 5, seed: int = 7) -> dict[str, int]:
    """Write the site under ``root``; return {"pages": n, "assets": n, "files": n}."""
    rng = random.Random(seed)
    root = Path(root)
    sections = max(1, (pages - 1) // 8)
    names = ["/"] + [f"/s{i}/" for i in range(sections)]
    names += [f"/s{i % sections}/a{i}.html" for i in range(pages - len(names))]
    for index, url in enumerate(names):
        _write(root, url, _page(index, url, names, assets_per_page, rng, root))
    _write(root, "/robots.txt", b"User-agent: *\nDisallow: /private/\n")
    _write(root, "/app.js", b"console.log('never fetched by the mirror');\n")
    return {"pages": len(names), "assets": len(names) * assets_per_page, "files": len(names) * (assets_per_page + 1)}


def _page(index: int, url: str, names: list[str], assets: int, rng: random.Random, root: Path) -> bytes:
    links = {names[0], names[(index + 1) % len(names)], names[index - 1], names[(index * 7 + 3) % len(names)]}
    if url == "/":
        links |= set(n for n in names if n.count("/") == 2 and n.endswith("/"))
    if url.endswith("/") and url != "/":
        links |= {n for n in names if n.startswith(url) and n != url}
    images = []
    for k in range(assets - 2):
        path = f"/img/p{index}-{k}.png"
        _write(root, path, png(rng, rng.randrange(26, 80)))
        images.append(f'<img src="{path}" alt="figure {k}">')
    background = f"/img/bg{index}.png"
    _write(root, background, png(rng, rng.randrange(18, 44)))
    css = f"/css/p{index}.css"
    _write(root, css, f"body {{ background: url({background}) }}\nh1 {{ color: #333 }}\n".encode())
    nav = "".join(f'<li><a href="{link}">{link}</a></li>' for link in sorted(links))
    text = "".join(f"<p>{PARAGRAPH * rng.randrange(3, 12)}</p>" for _ in range(rng.randrange(2, 6)))
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>Page {index}</title>'
            f'<link rel="stylesheet" href="{css}"><script src="/app.js"></script></head><body>'
            f'<h1>Page {index}</h1><ul>{nav}</ul>{"".join(images)}{text}'
            f'<p><a href="https://elsewhere.example/">elsewhere</a> <a href="/private/secret.html">private</a>'
            f'</p></body></html>\n').encode()


def png(rng: random.Random, side: int) -> bytes:
    """A real PNG of ``side`` x ``side`` random pixels (so it weighs about 3 * side * side bytes)."""
    rows = b"".join(b"\0" + rng.randbytes(side * 3) for _ in range(side))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    header = struct.pack(">IIBBBBB", side, side, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


def _write(root: Path, url: str, data: bytes) -> None:
    path = root / (url.lstrip("/") + ("index.html" if url.endswith("/") else ""))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
