"""A small clean site of a dozen pages for the single-document tests and bench: nested folders, deep links,
legacy anchors, a shared stylesheet, a distinct background colour per page and one small image."""

from __future__ import annotations

import struct
import zlib

FILLER = "".join(f"<p>Filler paragraph {n} keeps the next heading below the fold.</p>" for n in range(40))

# path -> (title, background colour, body)
PAGES = {
    "index.html": ("Home", "#ffe0e0", """
<p><img src="img/dot.png" alt="a dot" width="8" height="8" loading="lazy"></p>
<ul>
<li><a id="to-about" href="about.html">About</a></li>
<li><a id="to-docs" href="docs/">Docs</a></li>
<li><a id="to-usage" href="docs/guide.html#usage">Guide: usage</a></li>
<li><a id="to-ref-b" href="docs/api/ref.html#fn-b">Reference: fn_b</a></li>
<li><a id="to-q3" href="faq.html#q3">FAQ question 3</a></li>
<li><a href="news/2024/01.html">January news</a> <a href="news/2024/02.html">February news</a></li>
<li><a href="blog/post-one/">Post one</a> <a href="blog/post-two/index.html">Post two</a></li>
<li><a href="contact.html">Contact</a> <a href="docs/api/">API</a></li>
</ul>"""),
    "about.html": ("About", "#e0ffe0", """
<p><a id="to-home" href="index.html">Home</a> <a id="to-faq" href="./faq.html">FAQ</a></p>"""),
    "faq.html": ("FAQ", "#e0e0ff", f"""
<p><a id="to-q2" href="#q2">Question 2</a> <a href="#top">top</a></p>
{FILLER}<h2 id="q2">Question 2</h2>{FILLER}<h2><a name="q3">Question 3</a></h2>{FILLER}"""),
    "contact.html": ("Contact", "#ffffe0", '<p><a href="/">Home</a> <a href="about.html#title">About</a></p>'),
    "docs/index.html": ("Docs", "#e0ffff", """
<p><a id="to-guide" href="guide.html">Guide</a> <a href="api/ref.html">Reference</a> <a href="../">Home</a></p>"""),
    "docs/guide.html": ("Guide", "#ffe0ff", f"""
<p><a href="#usage">Usage</a> <a id="to-fn-a" href="api/ref.html#fn-a">fn_a</a></p>
{FILLER}<h2 id="usage">Usage</h2><p><a id="to-faq-q3" href="../faq.html#q3">FAQ q3</a></p>{FILLER}"""),
    "docs/api/index.html": ("API", "#f0f0f0", '<p><a href="ref.html">Reference</a> <a href="../../">Home</a></p>'),
    "docs/api/ref.html": ("Reference", "#fff0d0", f"""
<p><a id="to-guide-usage" href="../guide.html#usage">Usage</a> <a href="#fn-b">fn_b</a></p>
{FILLER}<h2 id="fn-a">fn_a</h2>{FILLER}<h2 id="fn-b">fn_b</h2><p><a id="to-home-2" href="../../index.html">Home</a></p>
{FILLER}"""),
    "news/2024/01.html": ("January", "#d0f0ff", '<p><a href="02.html">Next</a> <a href="../../">Home</a></p>'),
    "news/2024/02.html": ("February", "#d0ffd0", '<p><a href="01.html">Previous</a></p>'),
    "blog/post-one/index.html": ("Post one", "#ffd0d0", '<p><a href="../post-two/">Post two</a></p>'),
    "blog/post-two/index.html": ("Post two", "#d0d0ff", '<p><a href="../post-one/index.html">Post one</a></p>'),
}

POLICY = "default-src 'none'; style-src 'self' 'unsafe-inline'; img-src 'self'; base-uri 'none'; form-action 'none'"
SITE_CSS = "body{font-family:serif;margin:0;min-height:100vh} #main{padding:1em} h1{color:#202060}"


def tiny_png(rgb=(200, 30, 30), size=8) -> bytes:
    row = b"\x00" + bytes(rgb) * size
    chunk = lambda kind, data: (struct.pack(">I", len(data)) + kind + data  # noqa: E731
                                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(row * size)) + chunk(b"IEND", b""))


def page_html(path: str) -> str:
    title, colour, body = PAGES[path]
    depth = path.count("/")
    css = "../" * depth + "style/site.css"
    return (f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
            f'<meta http-equiv="Content-Security-Policy" content="{POLICY}"><title>{title}</title>'
            f'<link rel="stylesheet" href="{css}"><style>body{{background:{colour}}}</style></head>'
            f'<body id="top"><main id="main"><h1 id="title">{title}</h1>{body}</main></body></html>')


def pages() -> dict[str, str]:
    return {path: page_html(path) for path in PAGES}


def assets() -> dict[str, bytes]:
    return {"style/site.css": SITE_CSS.encode(), "img/dot.png": tiny_png()}


def colour(path: str) -> str:
    return PAGES[path][1]


def csp() -> dict[str, str]:
    return {path: POLICY for path in PAGES}


def files() -> dict[str, bytes]:
    """The multi-file build of the same site."""
    return {**{p: h.encode() for p, h in pages().items()}, **assets()}


