"""Untrusted HTML -> a page that runs no script and loads nothing from outside the mirror.

Owns: one page's sanitizing. Three steps, each done by a parser, never by text surgery:

1. an HTML5 tree walk (selectolax/lexbor) reads the head (title, charset, stylesheets, <style>, <base>,
   meta refresh), counts what will go, promotes lazy images and rewrites every URL attribute through
   mirror/links.py (local -> relative path, remote load -> dropped, hyperlink -> --external-links);
2. nh3 (Ammonia on html5ever) applies the allowlist of mirror/sanitize_rules.py to the body: any tag,
   attribute or scheme the walk did not know about is removed there;
3. a fresh head is written from the collected data, with a Content-Security-Policy forbidding script
   and every remote load, and the CSS (tinycss2, mirror/sanitize_css.py) hashed into it.

Never reads or writes files, never prints; never imports the audit.
"""

from __future__ import annotations

import base64
import codecs
import hashlib
import html
import re
from collections import Counter
from dataclasses import dataclass, field

import nh3
from selectolax.lexbor import LexborHTMLParser

from mirror import links
from mirror.sanitize_css import CssSanitizer
from mirror.sanitize_rules import (
    ALLOWED_TAGS,
    CSP,
    DROP_WITH_CONTENT,
    ENCODING_ALIASES,
    GLOBAL_ATTRS,
    GLOBAL_MATH_ATTRS,
    LINK_REL,
    TAG_ATTRS,
    URL_SCHEMES,
)
from mirror.sanitize_walk import PageWalk

EXTERNAL_LINKS = ("text", "mark", "keep")
_EVENT_HANDLER = re.compile(r" on[a-zA-Z]+ *=")  # a count for the report (a literal prefix keeps it fast)
_META_CHARSET = re.compile(rb"<meta[^>]+charset\s*=\s*[\"']?\s*([\w:.-]+)", re.I)


@dataclass
class Page:
    """One sanitized page: the bytes to write, its CSP, and what was removed or found on the way."""

    html: bytes
    csp: str
    removed: Counter = field(default_factory=Counter)
    warnings: list[str] = field(default_factory=list)
    broken: list[str] = field(default_factory=list)


class Sanitizer:
    """Sanitizes the pages of one site (or lone pages, with the default ``NoSite``)."""

    def __init__(self, site: links.SiteMap | None = None, external_links: str = "mark"):
        if external_links not in EXTERNAL_LINKS:
            raise ValueError(f"external_links must be one of {EXTERNAL_LINKS}")
        self.site = site or links.NoSite()
        self.external_links = external_links
        self.css = CssSanitizer(self.site)
        self._approved: set[str] = set()
        self.anywhere: dict[str, links.Target] = {}  # see PageWalk.locate
        attributes = {"*": set(GLOBAL_ATTRS)} | {tag: set(attrs) for tag, attrs in TAG_ATTRS.items()}
        for tag in ALLOWED_TAGS:
            if tag == "math" or tag.startswith("m") and tag not in ("main", "mark", "map"):
                attributes[tag] = attributes.get(tag, set()) | GLOBAL_MATH_ATTRS
        self.cleaner = nh3.Cleaner(
            tags=set(ALLOWED_TAGS),
            clean_content_tags=set(DROP_WITH_CONTENT),
            attributes=attributes,
            attribute_filter=self._only_approved_loads,
            strip_comments=True,
            link_rel=LINK_REL,
            url_schemes=set(URL_SCHEMES),
            set_tag_attribute_values={
                "video": {"controls": "", "preload": "none"},
                "audio": {"controls": "", "preload": "none"},
            },
        )

    def _only_approved_loads(self, element: str, attribute: str, value: str) -> str | None:
        """Second line of defence: a value the browser loads must be one the walk wrote itself.

        (Serializing lexbor's tree and re-parsing it in html5ever could, in theory, surface an element
        the walk never saw; its src would not be in the approved set and goes.)
        """
        if attribute in ("src", "poster", "srcset") and value not in self._approved:
            return None
        return value

    def page(
        self,
        data: bytes | str,
        url: str = "https://site.invalid/index.html",
        out: str = "index.html",
        charset: str | None = None,
    ) -> Page:
        """Sanitize one document found at ``url`` that will be written at ``out`` in the build; ``charset``
        is what the page was served as (a crawl knows it from the Content-Type header)."""
        text = decode(data, charset) if isinstance(data, bytes) else data
        tree = LexborHTMLParser(text)
        walk = PageWalk(self, tree, url, out)
        walk.run()
        self._approved = walk.approved
        walk.removed["comment"] += text.count("<!--")
        walk.removed["event handler"] += len(_EVENT_HANDLER.findall(text))  # nh3 removes them all
        body = self.cleaner.clean(walk.body_html())
        styles = [(media, _as_parsed(css)) for media, css in walk.stylesheets()]
        csp = CSP.format(
            hashes="".join(f" 'sha256-{_sha256(css)}'" for css in dict.fromkeys(c for _, c in styles))
        )
        page = Page(b"", csp, walk.removed, sorted(walk.warnings), sorted(walk.broken))
        page.html = _document(walk, csp, styles, body).encode("utf-8")
        return page


def decode(data: bytes, charset: str | None = None) -> str:
    """Decode a page as a browser would: BOM, then the charset it was served with, then <meta charset>,
    then UTF-8, then windows-1252."""
    for bom, encoding in (
        (codecs.BOM_UTF8, "utf-8"),
        (codecs.BOM_UTF16_LE, "utf-16-le"),
        (codecs.BOM_UTF16_BE, "utf-16-be"),
    ):
        if data.startswith(bom):
            return data[len(bom) :].decode(encoding, "replace")
    encoding = charset.lower() if charset else _meta_charset(data)
    encoding = ENCODING_ALIASES.get(encoding, encoding)
    try:
        if codecs.lookup(encoding).name.startswith("utf-16"):
            encoding = "utf-8"
    except LookupError:
        encoding = "utf-8"
    try:
        return data.decode(encoding)
    except UnicodeDecodeError:
        return data.decode("windows-1252" if encoding == "utf-8" else encoding, "replace")


def _meta_charset(data: bytes) -> str:
    found = _META_CHARSET.search(data[:4096])
    return found.group(1).decode("ascii", "replace").lower() if found else "utf-8"


def _as_parsed(css: str) -> str:
    """The text a browser will hash: the HTML parser turns CR LF and CR into LF and NUL into U+FFFD."""
    return css.replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "\ufffd")


def _sha256(text: str) -> str:
    return base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii")


def _attrs(pairs) -> str:
    return "".join(f' {name}="{_escape(value)}"' for name, value in pairs if value is not None)


def _escape(value: str) -> str:
    return html.escape(value, quote=False).replace('"', "&quot;")


NO_ICON = '<link rel="icon" href="data:,">'  # the page names its icon: no /favicon.ico request


def _document(walk: PageWalk, csp: str, styles: list[tuple[str | None, str]], body: str) -> str:
    head = [
        '<meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy"{_attrs([("content", csp)])}>',
        '<meta name="referrer" content="no-referrer">',
    ]
    head += [f"<meta{_attrs([('name', name), ('content', value)])}>" for name, value in walk.metas]
    head.append(f"<title>{html.escape(walk.title, quote=False)}</title>")
    head += [
        f'<link rel="{rel}"{_attrs([("href", href), ("media", media)])}>'
        for rel, href, media in walk.head_links
    ]
    if not any(rel == "icon" for rel, _, _ in walk.head_links):
        head.append(NO_ICON)
    head += [f"<style{_attrs([('media', media)])}>{css}</style>" for media, css in styles]
    return (
        "<!DOCTYPE html>\n"
        f"<html{_attrs(walk.html_attrs)}>\n<head>\n" + "\n".join(head) + "\n</head>\n"
        f"<body{_attrs(walk.body_attrs)}>\n{walk.preface()}{body}\n</body>\n</html>\n"
    )
