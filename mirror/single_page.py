"""One sanitized page -> the parts of its section in the single document.

Owns: rewriting a parsed page in place for life inside one document: ids prefixed, every id reference and
internal link pointed at the prefixed id or the page's section, asset URLs made relative to the document
at the root (or inlined), stylesheets collected for scoping. Never decides what is safe, never writes.
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass
from html import escape

from mirror.single_css import Sheet, imports, rewrite_declarations
from mirror.single_links import Site, fragment_href

ID_LIST_ATTRS = ("for", "headers", "list", "form", "itemref", "popovertarget", "commandfor", "anchor",
                 "aria-activedescendant", "aria-controls", "aria-describedby", "aria-details",
                 "aria-errormessage", "aria-flowto", "aria-labelledby", "aria-owns")
SVG_URL_ATTRS = ("fill", "stroke", "clip-path", "mask", "filter", "marker-start", "marker-mid", "marker-end")
ID_LIST_SELECTOR = ", ".join(f"[{attr}]" for attr in ID_LIST_ATTRS)
SVG_URL_SELECTOR = ", ".join(f"[{attr}]" for attr in SVG_URL_ATTRS)
SRC_SELECTOR = ("img[src], source[src], video[src], audio[src], track[src], input[src], embed[src], "
                "iframe[src], video[poster], object[data]")
FRAGMENT_URL = re.compile(r"url\(\s*(['\"]?)#([^'\")\s]+)\1\s*\)")
MAX_IMPORT_DEPTH = 4


@dataclass(frozen=True)
class PageParts:
    path: str
    section_id: str
    classes: tuple[str, ...]
    lang: str
    dir: str
    title: str
    body: str  # the .m-body wrapper with the page's content
    id_rules: dict  # sheet class -> this page's rules naming ids


def rewrite_page(site: Site, path: str, tree, joiner) -> PageParts:
    """Rewrite ``tree`` (the parsed page at ``path``) and return its section's parts."""
    page = _Page(site, path, joiner)
    title = _title(tree, path)
    html_attrs = dict(tree.root.attributes) if tree.root else {}
    sheets = page.collect_sheets(tree)
    page.rename_ids(tree)
    page.rewrite_links(tree)
    page.rewrite_sources(tree)
    page.rewrite_styles(tree)
    section_id = site.section_id(path)
    home = ("home",) if site.slugs[path] == "home" else ()
    classes = ("page", *home, *(name for _, name in sheets))
    id_rules = {name: sheet.for_page(section_id, site.page_ids[path], lambda i: site.inner_id(path, i))
                for sheet, name in sheets}
    body_attrs = tree.body.attributes if tree.body else {}
    return PageParts(path, section_id, classes, html_attrs.get("lang") or body_attrs.get("lang") or "",
                     html_attrs.get("dir") or body_attrs.get("dir") or "", title,
                     _wrapper(tree, html_attrs), {k: v for k, v in id_rules.items() if v})


def _title(tree, path: str) -> str:
    for selector in ("head title", "h1"):
        node = tree.css_first(selector)
        text = " ".join(node.text().split()) if node else ""
        if text:
            return text
    return path


def _wrapper(tree, html_attrs: dict) -> str:
    body = tree.body
    attrs = dict(body.attributes) if body else {}
    classes = " ".join(c for c in (html_attrs.get("class"), attrs.get("class")) if c)
    out = [f'class="{escape(("m-body " + classes).strip())}"']
    for name in ("id", "style"):
        if attrs.get(name):
            out.append(f'{name}="{escape(attrs[name])}"')
    inner = body.inner_html if body else ""
    return f"<div {' '.join(out)}>{inner}</div>"


class _Page:
    def __init__(self, site: Site, path: str, joiner):
        self.site, self.path, self.joiner = site, path, joiner

    def new_id(self, value: str) -> str:
        return self.site.inner_id(self.path, value)

    def collect_sheets(self, tree) -> list[tuple[Sheet, str]]:
        found = []
        for node in tree.css("link[rel], style"):
            if node.tag == "style":
                key = ("style", posixpath.dirname(self.path), node.text())
                parts = self._parts(node.text(), self.path, 0)
            else:
                rel = (node.attributes.get("rel") or "").lower().split()
                target = self.site.resolve(self.path, node.attributes.get("href") or "")
                parts = self._parts(self._text(target.path), target.path, 0) \
                    if "stylesheet" in rel and "alternate" not in rel and target.kind == "asset" else None
                key = ("link", target.path)
            node.decompose()
            if parts:
                entry = self.joiner.sheet_class(key, lambda parts=parts: Sheet(parts))
                if entry not in found:
                    found.append(entry)
        return found

    def _text(self, asset: str) -> str:
        return self.joiner.assets[asset].decode("utf-8", errors="replace")

    def _parts(self, text: str, base: str, depth: int) -> list:
        parts = []
        for url in imports(text) if depth < MAX_IMPORT_DEPTH else ():
            target = self.site.resolve(base, url)
            if target.kind == "asset":
                parts.extend(self._parts(self._text(target.path), target.path, depth + 1))
        return parts + [(text, self._css_resolver(base))]

    def _css_resolver(self, base: str):
        def resolve(url: str) -> str | None:
            if url.startswith("data:"):
                return url
            if url.startswith("#"):
                return url  # an SVG paint server reference: left to the page's own ids
            target = self.site.resolve(base, url)
            return self.joiner.css_url(target.path) if target.kind == "asset" else None
        return resolve

    def rename_ids(self, tree) -> None:
        for node in tree.css("[id]"):
            node.attrs["id"] = self.new_id(node.attributes["id"] or "")
        for node in tree.css("a[name], map[name]"):
            node.attrs["name"] = self.new_id(node.attributes["name"] or "")
        for node in tree.css(ID_LIST_SELECTOR):
            attributes = node.attributes
            for attr in ID_LIST_ATTRS:
                if attr in attributes:
                    node.attrs[attr] = " ".join(self.new_id(v) for v in (attributes[attr] or "").split())
        for node in tree.css("[usemap]"):
            value = (node.attributes["usemap"] or "").lstrip("#")
            node.attrs["usemap"] = "#" + self.new_id(value)

    def rewrite_links(self, tree) -> None:
        for node in tree.css("[href], [xlink\\:href]"):
            for attr in ("href", "xlink:href"):
                if attr in node.attributes:
                    self._rewrite_href(node, attr, node.attributes[attr] or "")

    def _rewrite_href(self, node, attr: str, url: str) -> None:
        target = self.site.resolve(self.path, url)
        if target.kind == "page":
            node.attrs[attr] = self.site.page_href(target)
            if "target" in node.attributes:
                del node.attrs["target"]  # a new tab or frame would load the document again
        elif target.kind == "asset":
            node.attrs[attr] = self.joiner.link_to_asset(target.path)
        elif target.kind == "missing":
            del node.attrs[attr]
            self.joiner.dangling += 1

    def rewrite_sources(self, tree) -> None:
        for node in tree.css(SRC_SELECTOR):
            for attr in ("src", "poster", "data"):
                if attr in node.attributes:
                    self._rewrite_source(node, attr, node.attributes[attr] or "")
            if node.tag in ("video", "audio", "source", "track"):
                self.joiner.media = True
        for node in tree.css("[srcset]"):
            node.attrs["srcset"] = self._srcset(node.attributes["srcset"] or "")
        for node in tree.css("[loading]"):
            del node.attrs["loading"]  # every image loads at the first visit, whichever page is read

    def _rewrite_source(self, node, attr: str, url: str) -> None:
        if url.startswith("data:"):
            return
        target = self.site.resolve(self.path, url)
        if target.kind == "asset":
            node.attrs[attr] = self.joiner.asset_url(target.path)
        elif target.kind != "external":
            del node.attrs[attr]

    def _srcset(self, value: str) -> str:
        candidates = []
        for candidate in value.split(","):
            url, _, descriptor = candidate.strip().partition(" ")
            target = self.site.resolve(self.path, url) if url else None
            if target and target.kind == "asset":
                candidates.append(f"{self.joiner.link_to_asset(target.path)} {descriptor}".strip())
        return ", ".join(candidates)

    def rewrite_styles(self, tree) -> None:
        resolve = self._css_resolver(self.path)
        for node in tree.css("[style]"):
            text = FRAGMENT_URL.sub(self._fragment_url, node.attributes["style"] or "")
            node.attrs["style"] = rewrite_declarations(text, resolve)
            self.joiner.style_attributes = True
        for node in tree.css(SVG_URL_SELECTOR):
            attributes = node.attributes
            for attr in SVG_URL_ATTRS:
                if "url(" in (attributes.get(attr) or ""):
                    node.attrs[attr] = FRAGMENT_URL.sub(self._fragment_url, attributes[attr])

    def _fragment_url(self, match: re.Match) -> str:
        return f'url("{fragment_href(self.new_id(match.group(2)))}")'
