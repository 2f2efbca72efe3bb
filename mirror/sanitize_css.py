"""Untrusted CSS (files, <style> blocks, style="" attributes) -> CSS that loads only local files.

Owns: the CSS walk, done on tinycss2's parse tree (never on text): remote url()/@import/@font-face
sources are dropped, local ones rewritten relative to the output file, script-running properties and
functions removed, font stacks given a system fallback. Counts what it removed by kind. Never prints.
"""

from __future__ import annotations

import re
from collections import Counter

import tinycss2
from tinycss2 import ast
from tinycss2.serializer import serialize_string_value, serialize_url

from mirror import links
from mirror.sanitize_css_pieces import CSS_SPACE, is_quiet, pieces, trim
from mirror.sanitize_rules import (
    CSS_DROP_AT_RULES,
    CSS_DROP_FUNCTIONS,
    CSS_DROP_PROPERTIES,
    CSS_HIDING,
    CSS_PAGE_SELECTORS,
    CSS_URL_FUNCTIONS,
    EMPTY_URL,
    FALLBACK_FONT,
    GENERIC_FONTS,
)

_PLAIN_NAME = re.compile(r"-?-?[a-z][a-z0-9-]*")
RULE_BLOCK_AT = frozenset(
    {
        "media",
        "supports",
        "layer",
        "container",
        "scope",
        "starting-style",
        "keyframes",
        "-webkit-keyframes",
        "-moz-keyframes",
    }
)


class Drop(Exception):
    """The declaration or rule being walked must go (its kind is the message)."""


class CssSanitizer:
    """Sanitizes the CSS of one site; results are cached by (text, location)."""

    def __init__(self, site: links.SiteMap):
        self.site = site
        self._cache: dict[tuple, tuple[str, Counter]] = {}

    def stylesheet(self, text: str, base: str, out: str, removed: Counter) -> str:
        """A stylesheet; its top-level rules that cannot load anything are kept as they are, unparsed
        (see mirror/sanitize_css_pieces.py)."""
        kept = []
        for piece, kind in pieces(text):
            if kind == "dead":
                removed["invalid css"] += 1
            else:
                kept.append(self._sheet(piece, base, out, removed) if kind == "risky" else piece)
        return trim("".join(kept))

    def _sheet(self, text: str, base: str, out: str, removed: Counter) -> str:
        return self._cached(
            ("sheet", text),
            removed,
            lambda c: tinycss2.parse_stylesheet(text, skip_comments=True),
            base,
            out,
            fast=False,
        )

    def declarations(self, text: str, base: str, out: str, removed: Counter, important=False) -> str:
        def parse(counts):
            nodes = _blocks(text)
            for node in nodes:
                if important and node.type == "declaration":
                    node.important = True
            return nodes

        return self._cached(("decl", text, important), removed, parse, base, out, fast=not important)

    def _cached(self, key, removed: Counter, parse, base: str, out: str, fast=True) -> str:
        """The result for ``key`` (kind, text, ...); text without a risky word gives the same result on
        every page, so it is cached without the page's location (base, out)."""
        hit = self._cache.get(key) or self._cache.get(key + (base, out))
        if hit is None:
            text = key[1]
            quiet = is_quiet(text)
            if fast and quiet:
                hit = (text, Counter())
            else:
                counts = Counter()
                walker = _Walk(self.site, base, out, counts)
                try:
                    hit = (walker.serialize(walker.rules(parse(counts))), counts)
                except RecursionError:  # thousands of nested blocks: no reader loses anything real
                    hit = ("", Counter({"css nested too deeply (dropped)": 1}))
            self._cache[key if quiet else key + (base, out)] = hit
        removed.update(hit[1])
        return hit[0]


class _Walk:
    def __init__(self, site, base, out, counts: Counter):
        self.site, self.base, self.out, self.counts = site, base, out, counts
        self.in_font_face = False

    @staticmethod
    def serialize(nodes) -> str:
        return tinycss2.serialize(nodes).replace("</", "<\\/").strip(CSS_SPACE)

    def rules(self, nodes) -> list:
        kept = []
        for node in nodes:
            if node.type in ("literal", "whitespace", "comment"):
                continue
            try:
                kept.append(self.node(node))
            except Drop as why:
                self.counts[str(why)] += 1
        return kept

    def node(self, node):
        if node.type == "declaration":
            return self.declaration(node)
        if node.type == "qualified-rule":
            node.prelude = self.values(node.prelude, "remote image")  # no url() anywhere, even in selectors
            node.content = self.rules(_blocks(node.content))
            if _hides_page(node):
                raise Drop("style hiding the page until a script shows it")
            return node
        if node.type == "at-rule":
            return self.at_rule(node)
        if node.type == "error":
            raise Drop("invalid css")
        return node

    def at_rule(self, node):
        name = node.lower_at_keyword
        if name in CSS_DROP_AT_RULES:
            raise Drop(f"css @{name}")
        if name == "import":
            node.prelude = self.values(node.prelude, "remote stylesheet", bare_strings=True)
            return node
        if node.content is None:  # @namespace url(...) and the like: no remote URL left even there
            node.prelude = self.values(node.prelude, "remote stylesheet")
            return node
        if name in RULE_BLOCK_AT:  # no url() in the condition either: the audit would refuse the page
            node.prelude = self.values(node.prelude, "remote image")
            node.content = self.rules(tinycss2.parse_rule_list(node.content, skip_comments=True))
            return node
        self.in_font_face = name == "font-face"
        decls = self.rules(_blocks(node.content))
        self.in_font_face = False
        if name == "font-face" and not any(d.type == "declaration" and d.lower_name == "src" for d in decls):
            raise Drop("remote font")
        node.content = decls
        return node

    def declaration(self, node):
        name = node.lower_name
        if name in CSS_DROP_PROPERTIES:
            raise Drop("css behavior")
        if name == "src":
            node.value = self.font_sources(node.value)
        else:
            kind = "remote font" if name.startswith("font") else "remote image"
            node.value = self.values(node.value, kind)
        if name == "font-family" and not self.in_font_face:
            node.value = _with_fallback(node.value)
        return node

    def font_sources(self, tokens) -> list:
        """Keep the local entries of an @font-face src list; drop the rule if none is left."""
        entries, current = [], []
        for token in tokens + [ast.LiteralToken(0, 0, ",")]:
            if token.type == "literal" and token.value == ",":
                try:
                    if any(t.type not in ("whitespace", "comment") for t in current):
                        entries.append(self.values(current, "remote font"))
                except Drop as why:
                    self.counts[str(why)] += 1
                current = []
            else:
                current.append(token)
        if not entries:
            raise Drop("remote font")
        joined = []
        for entry in entries:
            joined.extend(
                ([ast.LiteralToken(0, 0, ","), ast.WhitespaceToken(0, 0, " ")] if joined else []) + entry
            )
        return joined

    def values(self, tokens, kind: str, bare_strings=False) -> list:
        out = []
        for token in tokens:
            if token.type == "url":
                out.append(_url_token(self.url(token.value, kind)))
            elif token.type == "string":
                out.append(_url_token(self.url(token.value, kind)) if bare_strings else _closed(token))
            elif token.type == "function":
                out.append(self.function(token, kind))
            elif token.type in ("() block", "[] block", "{} block"):
                token.content = self.values(token.content, kind)
                out.append(token)
            else:
                out.append(token)
        return out

    def function(self, token, kind: str):
        name = token.lower_name
        if not _PLAIN_NAME.fullmatch(name):  # "\xa0url(" is no url() to a browser, but looks like one
            raise Drop("invalid css")
        if name in CSS_DROP_FUNCTIONS:
            raise Drop("css expression")
        if name in CSS_URL_FUNCTIONS:
            token.arguments = self.values(token.arguments, kind, bare_strings=True)
            if name in ("url", "src"):  # url("x") -> url(x): one URL token, nothing else
                found = [t for t in token.arguments if t.type == "url"]
                return found[0] if found else _raise(kind)
            return token
        token.arguments = self.values(token.arguments, kind)
        return token

    def url(self, raw: str, kind: str) -> str:
        if not links.normalize(raw):  # url() would load the stylesheet or page itself: it shows nothing
            raise Drop(EMPTY_URL)
        target = links.locate(raw, self.base, self.out, self.site)
        if target.kind == "local":
            return target.url
        if target.kind == "fragment":  # url(#id) names inline SVG, which pages do not keep
            raise Drop("css reference to inline svg")
        raise Drop(kind)


def _hides_page(rule) -> bool:
    if " ".join(tinycss2.serialize(rule.prelude).split()).lower() not in CSS_PAGE_SELECTORS:
        return False
    return any(
        d.type == "declaration" and (d.lower_name, tinycss2.serialize(d.value).strip().lower()) in CSS_HIDING
        for d in rule.content
    )


def _closed(token):
    """A string token written with both quotes (tinycss2 writes one cut by the end of the sheet
    unclosed, and the ``;`` or ``}`` serialized after it would become part of it)."""
    return ast.StringToken(
        token.source_line, token.source_column, token.value, f'"{serialize_string_value(token.value)}"'
    )


def _url_token(value: str):
    return ast.URLToken(0, 0, value, f"url({serialize_url(value)})")


def _blocks(content):
    return tinycss2.parse_blocks_contents(content, skip_comments=True, skip_whitespace=True)


def _raise(kind):
    raise Drop(kind)


def _with_fallback(tokens) -> list:
    names = {t.lower_value for t in tokens if t.type == "ident"}
    if names & GENERIC_FONTS or any(t.type == "function" for t in tokens):
        return tokens
    return list(tokens) + [
        ast.LiteralToken(0, 0, ","),
        ast.WhitespaceToken(0, 0, " "),
        ast.IdentToken(0, 0, FALLBACK_FONT),
    ]
