"""What a downloaded response says: its charset, and the links it holds (pages to follow, assets to load).

Owns: reading a body for the crawl. HTML is parsed with selectolax (lexbor), CSS with tinycss2; scripts
are never followed (the mirror runs none). Never fetches, never writes.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass, field
from urllib.parse import urljoin

import tinycss2
from selectolax.lexbor import LexborHTMLParser

HTML_TYPES = ("text/html", "application/xhtml+xml")
CSS_TYPES = ("text/css",)
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([\w:.-]+)""", re.I)
_SINGLE_BYTE = ("iso8859", "cp125", "latin", "ascii", "mac", "koi8", "cp437", "cp850")
_BOMS = ((codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be"))
_SRCSET_URL = re.compile(r"\s*([^\s,]+)[^,]*,?")
_REFRESH_URL = re.compile(r"url\s*=\s*['\"]?([^'\"]+)", re.I)
LEGACY = ("cp1252", "cp1250", "cp1251", "cp1253", "cp1254", "cp1255", "cp1256", "cp1257", "koi8_r", "shift_jis",
          "euc_jp", "gb18030", "big5", "euc_kr", "iso8859_2", "cp874")
ASSET_RELS = {"stylesheet", "icon", "shortcut", "apple-touch-icon", "apple-touch-icon-precomposed",
              "mask-icon", "preload", "image_src"}
PRELOAD_AS = {"style", "image", "font"}
ASSET_ATTRS = (("img", "src"), ("img", "srcset"), ("source", "src"), ("source", "srcset"), ("video", "src"),
               ("video", "poster"), ("audio", "src"), ("track", "src"), ("input", "src"), ("image", "href"))


@dataclass
class Links:
    pages: set[str] = field(default_factory=set)
    assets: set[str] = field(default_factory=set)


def mime_of(content_type: str | None) -> str:
    return (content_type or "").split(";", 1)[0].strip().lower()


def sniff(body: bytes) -> str:
    """The type of a body sent without Content-Type: HTML if it starts like HTML, else nothing known."""
    head = body[:512].removeprefix(codecs.BOM_UTF8).lstrip().lower()
    return "text/html" if head.startswith((b"<!doctype html", b"<html", b"<head", b"<body")) else ""


def header_charset(content_type: str | None) -> str | None:
    for param in (content_type or "").split(";")[1:]:
        key, _, value = param.partition("=")
        if key.strip().lower() == "charset" and value.strip(" \"'"):
            return value.strip(" \"'").lower()
    return None


def decide_charset(body: bytes, declared: str | None) -> tuple[str, str | None]:
    """(charset, note): BOM, then the header, then <meta>, then detection; a note when the header was wrong.

    A declared charset is believed when the body decodes with it, except a single-byte charset for a body
    that is valid non-ASCII UTF-8 (the commonest mislabel, which a single-byte charset can never notice).
    """
    for bom, name in _BOMS:
        if body.startswith(bom):
            return name, _note(declared, name)
    found = _META_CHARSET.search(body[:4096])
    meta = found.group(1).decode("ascii", "replace").lower() if found else None
    for candidate in (declared, meta):
        name = _lookup(candidate)
        if name and _fits(body, name):
            return name, _note(declared, name)
    return _detect(body), _note(declared, _detect(body))


def _lookup(name: str | None) -> str | None:
    try:
        found = codecs.lookup(name).name if name else None
    except LookupError:
        return None
    return "cp1252" if found in ("latin-1", "iso8859-1", "ascii") else found


def _fits(body: bytes, name: str) -> bool:
    try:
        body.decode(name)
    except UnicodeDecodeError:
        return False
    if name.replace("-", "").startswith(_SINGLE_BYTE) and not body.isascii():
        try:
            body.decode("utf-8")
            return False
        except UnicodeDecodeError:
            return True
    return True


def _detect(body: bytes) -> str:
    try:
        body.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError:
        import charset_normalizer  # slow to import, rarely needed

        matches = list(charset_normalizer.from_bytes(body[:65536], cp_isolation=list(LEGACY)))
        if not matches:
            return "cp1252"
        best = min(matches, key=lambda m: (m.chaos, -m.coherence))
        western = next((m for m in matches if m.encoding == "cp1252"), None)
        if western and western.chaos <= best.chaos + 0.1 and western.coherence >= best.coherence - 0.1:
            return "cp1252"  # the web's default legacy charset, unless another one is clearly better
        return _lookup(best.encoding) or "cp1252"


def _note(declared: str | None, used: str) -> str | None:
    if declared and _lookup(declared) != used:
        return f"wrong charset: the header said {declared}, the content is {codecs.lookup(used).name}"
    return None


def decode(body: bytes, charset: str) -> str:
    for bom, _ in _BOMS:
        if body.startswith(bom):
            body = body[len(bom):]
            break
    return body.decode(charset, "replace")


def html_links(text: str, base: str) -> Links:
    """Pages (a, area, meta refresh) and assets (images, stylesheets, icons, media, CSS urls) of a page."""
    tree = LexborHTMLParser(text)
    base_node = tree.css_first("base[href]")
    if base_node is not None:
        base = urljoin(base, base_node.attributes.get("href") or "")
    links = Links()
    for node in tree.css("a[href], area[href]"):
        _add(links.pages, base, node.attributes.get("href"))
    for node in tree.css("meta[http-equiv]"):
        if (node.attributes.get("http-equiv") or "").lower() == "refresh":
            found = _REFRESH_URL.search(node.attributes.get("content") or "")
            _add(links.pages, base, found.group(1) if found else None)
    for node in tree.css("link[href]"):
        rels = set((node.attributes.get("rel") or "").lower().split())
        if rels & ASSET_RELS and ("preload" not in rels or node.attributes.get("as") in PRELOAD_AS):
            _add(links.assets, base, node.attributes.get("href"))
    for tag, attr in ASSET_ATTRS:
        for node in tree.css(f"{tag}[{attr}]"):
            for url in _srcset(node.attributes.get(attr)) if attr == "srcset" else [node.attributes.get(attr)]:
                _add(links.assets, base, url)
    for node in tree.css("style"):
        links.assets |= css_links(node.text(), base)
    for node in tree.css("[style]"):
        links.assets |= css_links(node.attributes.get("style") or "", base, declarations=True)
    return links


def css_links(text: str, base: str, declarations: bool = False) -> set[str]:
    """Every url() and @import of a stylesheet (or of a style attribute's declarations)."""
    found: set[str] = set()
    nodes = (tinycss2.parse_blocks_contents(text) if declarations
             else tinycss2.parse_stylesheet(text, skip_comments=True, skip_whitespace=True))
    _walk_css(nodes, found)
    return {urljoin(base, url) for url in found if url.strip()}


def _walk_css(nodes, found: set[str]) -> None:
    for node in nodes:
        kind = getattr(node, "type", "")
        if kind == "url":
            found.add(node.value)
        elif kind == "function" and node.lower_name in ("url", "src"):
            strings = [t.value for t in node.arguments if t.type == "string"]
            found.update(strings[:1])
        elif kind == "at-rule" and node.lower_at_keyword == "import":
            strings = [t.value for t in node.prelude if t.type == "string"]
            found.update(strings[:1])
        for child in ("prelude", "content", "arguments", "value"):
            inner = getattr(node, child, None)
            if isinstance(inner, list):
                _walk_css(inner, found)


def _srcset(value: str | None) -> list[str]:
    return [m.group(1) for m in _SRCSET_URL.finditer(value or "")]


def _add(bucket: set[str], base: str, raw: str | None) -> None:
    if raw and raw.strip() and not raw.strip().startswith(("#", "javascript:", "data:", "mailto:")):
        try:
            bucket.add(urljoin(base, raw.strip()))
        except ValueError:
            pass


def page_links(body: bytes, mime: str, charset: str | None, base: str) -> Links:
    """The links of a response by its type: HTML and CSS are read, anything else has none."""
    if mime in HTML_TYPES:
        return html_links(decode(body, charset or "utf-8"), base)
    if mime in CSS_TYPES:
        return Links(assets=css_links(decode(body, charset or "utf-8"), base))
    return Links()
