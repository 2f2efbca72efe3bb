"""CSS for the audit: every place a stylesheet can make a browser fetch something or run script.

Owns: walking CSS with tinycss2 (a real CSS tokenizer: escapes, comments and strings are handled as a
browser handles them) and reporting, for stylesheets, ``<style>`` and ``style=""`` alike:
``url()`` and url tokens, ``@import "string"``, the string arguments of ``image-set()``, ``image()``,
``cross-fade()`` and ``src()``, ``@font-face`` (a web font), and the script-carrying IE/old-Gecko
constructs ``expression()``, ``behavior`` and ``-moz-binding``. ``@namespace`` URLs are names, not
fetches. Judging a URL (local, remote, script) is the caller's job.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import tinycss2
from tinycss2.ast import FunctionBlock

# The text of CSS that can hold none of the constructs below is skipped without tokenizing. Every
# construct needs one of these spellings, or a backslash escape to hide it, so the skip is exact.
ACTIVE_SPELLINGS = (r"\\|url\(|@import|image(-set)?\(|src\(|cross-fade\(|expression\(|@font-face|behavior"
                    r"|binding")
MAYBE_ACTIVE = re.compile(ACTIVE_SPELLINGS, re.IGNORECASE)
MAYBE_ACTIVE_LOWER = re.compile(ACTIVE_SPELLINGS)  # on lowercased text: several times faster
OPENERS = {"{": "}", "(": ")", "[": "]"}
CLOSERS = frozenset("}])")
# What can hide a brace from a naive reader: comments, strings (a bad string stops before its newline),
# unquoted url tokens (the whole ident "url", so not after a name character, "@" or "#"; a quoted url(
# is a function, and its string is read by the string branches) and escaped characters.
# An escape in a string: hex digits take one whitespace after them (a newline too), else any one character.
STRING_ESCAPE = r"\\(?:[0-9a-fA-F]{1,6}[ \t\n]?|[\s\S]|\Z)"
SPLIT = re.compile(r"/\*[\s\S]*?(?:\*/|\Z)"
                   rf'|"(?:[^"\\\n]|{STRING_ESCAPE})*+(?:"|(?=\n)|\Z)'
                   rf"|'(?:[^'\\\n]|{STRING_ESCAPE})*+(?:'|(?=\n)|\Z)"
                   r"""|(?<![\w\-\\@#\u0080-\U0010ffff])url\([\t\n\f\r ]*+(?!["'])[^)\\]*+\)?"""
                   r"|\\[^\n]|[{}()\[\]\\]", re.IGNORECASE)
NAME_RUN = re.compile(r"(?:[\w\-\u0080-\U0010ffff]|\\[^\n])*")
STRING_URL_FUNCTIONS = frozenset({"image-set", "-webkit-image-set", "image", "cross-fade",
                                  "-webkit-cross-fade", "src", "url"})
SCRIPT_FUNCTIONS = frozenset({"expression"})
SCRIPT_PROPERTIES = frozenset({"behavior", "-moz-binding", "-ms-behavior"})


@dataclass(frozen=True)
class CssItem:
    """What a stylesheet does at ``line`` (1-based within the CSS text)."""

    kind: str  # url | import | font-face | script
    value: str  # the URL, or the construct's name for font-face/script
    line: int


def scan_stylesheet(text: str) -> list[CssItem]:
    """Everything a stylesheet (a file or a ``<style>`` element) fetches or runs."""
    if not MAYBE_ACTIVE.search(text):
        return []
    # CSS Syntax preprocessing, as tinycss2 does it: every newline form becomes \n, NUL becomes U+FFFD.
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\f", "\n").replace("\0", "\ufffd")
    pieces = split_pieces(text)
    if pieces is None:
        return scan_whole(text)
    lower = text.lower()
    search = MAYBE_ACTIVE_LOWER.search if len(lower) == len(text) else MAYBE_ACTIVE.search  # same offsets
    haystack = lower if len(lower) == len(text) else text
    items: list[CssItem] = []
    line, previous = 1, 0
    for start, end in pieces:
        if search(haystack, start, end):
            line += text.count("\n", previous, start)
            previous = start
            items += [CssItem(item.kind, item.value, item.line + line - 1) for item in scan_whole(text[start:end])]
    return items


def scan_whole(text: str) -> list[CssItem]:
    """Tokenize all of ``text`` with tinycss2 and collect what it fetches or runs."""
    items: list[CssItem] = []
    _walk(tinycss2.parse_component_value_list(text, skip_comments=True), items)
    return items


def split_pieces(text: str) -> list[tuple[int, int]] | None:
    """Split a stylesheet after each ``}`` that closes a rule, so tinycss2 reads only the pieces that may
    matter.

    A piece starts right after a ``{}`` block, outside any comment, string, url token and parenthesis
    (so outside any function), where the walk below starts afresh; so tinycss2 tokenizes each piece
    exactly as it would in place and the walk finds the same things (a ``[]`` or ``{}`` block left open
    or closed across a cut only holds or ends a list the walk reads the same way). The split follows CSS Syntax's tokenizer for all
    that can hide a brace (comments, strings, bad strings, unquoted url tokens, escaped characters) and
    tracks nesting by matching closers as block parsing does. It gives up (None: tokenize everything)
    where an escape could spell a function name, as ``u\\72l(`` spells ``url(``."""
    pieces, stack, start = [], [], 0
    for match in SPLIT.finditer(text):
        ch = match.group()[0]
        if ch in OPENERS:
            stack.append(OPENERS[ch])
        elif ch in CLOSERS:
            if stack and stack[-1] == ch:
                stack.pop()
                if ch == "}" and ")" not in stack:
                    pieces.append((start, match.end()))
                    start = match.end()
        elif ch == "\\":
            if text[NAME_RUN.match(text, match.start()).end():][:1] == "(":
                return None
        elif text.startswith("\\", match.end()):  # an escape inside an unquoted url token
            return None
    pieces.append((start, len(text)))
    return pieces


def scan_declarations(text: str) -> list[CssItem]:
    """The same for a ``style=""`` attribute or an SVG presentation attribute."""
    return scan_stylesheet(text)


def _walk(tokens, items: list[CssItem]) -> None:
    """Collect items from a token list and every block and function in it (iteratively: a sheet may nest
    blocks far deeper than Python recurses)."""
    stack = [_Level(iter(tokens))]
    while stack:
        level = stack[-1]
        token = next(level.tokens, None)
        if token is None:
            stack.pop()
            continue
        kind = token.type
        if kind == "whitespace":
            continue
        if kind == "at-keyword":
            level.at_rule, level.first_in_prelude = token.lower_value, True
            if level.at_rule == "font-face":
                items.append(CssItem("font-face", "@font-face", token.source_line))
            continue
        if kind == "url":
            if level.at_rule != "namespace":  # a namespace URL is a name, never fetched
                items.append(CssItem("url", token.value, token.source_line))
        elif kind == "string":
            if level.at_rule == "import" and level.first_in_prelude:
                items.append(CssItem("import", token.value, token.source_line))
        elif kind == "function":
            if not (level.at_rule == "namespace" and token.lower_name == "url"):
                _function(token, items)
                stack.append(_Level(iter(token.arguments)))
        elif kind == "ident":
            if token.lower_value in SCRIPT_PROPERTIES:
                items.append(CssItem("script", token.value, token.source_line))
        elif kind in ("() block", "[] block", "{} block"):
            stack.append(_Level(iter(token.content)))
        if kind == "{} block" or (kind == "literal" and token.value == ";"):
            level.at_rule = None
        level.first_in_prelude = False


class _Level:
    """Where the walk is in one token list: the at-rule whose prelude it is in, if any."""

    __slots__ = ("at_rule", "first_in_prelude", "tokens")

    def __init__(self, tokens):
        self.tokens, self.at_rule, self.first_in_prelude = tokens, None, False


def _function(token: FunctionBlock, items: list[CssItem]) -> None:
    """A function's own meaning (its arguments are walked by the caller)."""
    name = token.lower_name
    if name in SCRIPT_FUNCTIONS:
        items.append(CssItem("script", f"{token.name}()", token.source_line))
    if name in STRING_URL_FUNCTIONS:
        for arg in token.arguments:
            if arg.type == "string":
                items.append(CssItem("url", arg.value, arg.source_line))
