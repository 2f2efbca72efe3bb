"""Which parts of a stylesheet need mirror/sanitize_css.py's tinycss2 walk, and which can stay as written.

Owns: the cut of a stylesheet after each top-level ``{}`` block (reading strings, comments, escapes and
url tokens as CSS Syntax does, so a cut falls where tinycss2 would end a rule too), and the risk scan:
a piece without any word the walk acts on (CSS_RISKY_WORDS, odd function names, rules for the page) and
without an escape outside strings (one could spell url() or expression()) cannot load or run anything,
and the walk would give it the same meaning; it is kept as written. A last piece that CSS drops whole
(a qualified rule without a ``{}`` block, such as ``<![CDATA[ ... ]]>`` around a sheet) is dropped.
tests/test_sanitize_css_pieces.py proves the pieces mean what one walk over the whole sheet means.
Never parses a piece itself and never edits one.
"""

from __future__ import annotations

import re

from mirror.sanitize_rules import (
    CSS_NAME_CHAR,
    CSS_ODD_FUNCTIONS,
    CSS_OPENS_RULE,
    CSS_PAGE_NAMES,
    CSS_RISKY_WORDS,
)

# CSS Syntax's tokenizer, as far as it can hide or open a bracket: strings (a newline ends a bad one;
# in a string, an escape of hex digits takes one whitespace after it, a newline included), comments,
# escapes, unquoted url tokens (the whole name "url": not after a name character, "@" or "#", but after
# "<!--") and brackets. What lies between these matches can neither hide nor open a bracket.
_ESCAPE_IN_STRING = r"\\(?:[0-9a-f]{1,6}(?:\r\n|[ \t\n\r\f])?|\r\n|.)"
_CSS_LEXEME = re.compile(
    rf"\"(?:[^\"\\\n\r\f]|{_ESCAPE_IN_STRING})*\"?|'(?:[^'\\\n\r\f]|{_ESCAPE_IN_STRING})*'?|"
    r"/\*.*?(?:\*/|\Z)|\\.|"
    rf"u(?:(?<!(?:{CSS_NAME_CHAR}|[@#])u)|(?<=<!--u))rl\([ \t\n\r\f]*[^\"' \t\n\r\f)](?:[^)\\]|\\.)*\)?|"
    r"(?P<open>[{}()\[\]])",
    re.S | re.I,
)
_NAME_RUN = re.compile(rf"(?:{CSS_NAME_CHAR}|\\.)*", re.S)
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")
_OPENERS = {"{": "}", "[": "]", "(": ")"}
_CLOSERS = frozenset("}])")
CSS_SPACE = " \t\n\r\f"
_LEADING_SPACE = re.compile(r"(?:[ \t\n\r\f]+|/\*.*?(?:\*/|\Z))*", re.S)


def is_quiet(text: str) -> bool:
    """Whether CSS ``text`` has no risky word and no backslash: it loads and runs nothing, and the walk
    would keep its meaning."""
    return "\\" not in text and not risky_positions(text)


def pieces(text: str) -> list[tuple[str, str]]:
    """(piece, kind) for each top-level piece of ``text``, kind "quiet", "risky" or "dead"; the pieces
    join to ``text``."""
    hits = risky_positions(text)
    if not hits and "\\" not in text:  # is_quiet, with the hits kept
        return [(text, "quiet")]
    found, start, n = [], 0, 0
    for chunk, escaped, dead in _chunks(text, hits[-1] if hits else 0):
        end, risky = start + len(chunk), escaped
        while n < len(hits) and hits[n] < end:
            risky, n = True, n + 1
        found.append((chunk, "dead" if dead else "risky" if risky else "quiet"))
        start = end
    return found


def risky_positions(text: str) -> list[int]:
    """Where ``text`` has a word of CSS_RISKY_WORDS, an odd function name or a rule for the page (sorted)."""
    low = text.lower()  # lowers A-Z as ASCII lowering does; only "\u0130" changes the length (and offsets)
    if len(low) != len(text):
        low = text.translate(_ASCII_LOWER)
    found = [at for word in CSS_RISKY_WORDS for at in _find_all(low, word)]
    found += [
        at
        for word in CSS_PAGE_NAMES
        for at in _find_all(low, word)
        if CSS_OPENS_RULE.match(low, at + len(word))
    ]
    for pattern in CSS_ODD_FUNCTIONS[: 2 if text.isascii() else 3]:  # the third: a non-ASCII name
        found += [m.start() for m in pattern.finditer(text)]  # no letters in them: case is no matter
    return sorted(found)


def _find_all(text: str, word: str):
    at = text.find(word)
    while at >= 0:
        yield at
        at = text.find(word, at + 1)


def top_level_chunks(text: str):
    """Split a stylesheet after each top-level ``{}`` block, reading blocks as CSS does.

    Strings, comments, escapes and unquoted url() are skipped; ``()``, ``[]`` and ``{}`` nest, and a
    closer that does not match the open block is ignored (so ``<![CDATA[ a{} ]]>`` stays one chunk, dead
    as a browser reads it). Used only to choose which parts need the full tinycss2 walk: a chunk
    without any risky word (see CSS_RISKY_WORDS; none contains ``}``, so none can straddle two chunks) and
    without an escape outside strings (one could spell url() or expression()) cannot load or run
    anything, and the walk leaves no remote url() in the others.
    """
    return (chunk for chunk, _, _ in _chunks(text))


def _chunks(text: str, quiet_from: int = 0):
    """(chunk, escaped, dead) for each top-level chunk: ``escaped`` if it has an escape outside strings
    and comments; ``dead`` for a last chunk that is a qualified rule with no ``{}`` block, which CSS
    drops whole (a parse error at EOF): ``<![CDATA[ ... ]]>`` around a sheet is one. Where an escape
    is part of a function's name (``u\\72l(`` is a url token, ``a\\ url(`` is none), the whole text is
    one chunk. The text after ``quiet_from`` has no risky word: once past it, the rest is one chunk
    (unless it has a backslash)."""
    found, stack, start, escaped = [], [], 0, False
    for match in _CSS_LEXEME.finditer(text):
        token = match.group()
        if match.lastgroup == "open" and token in _CLOSERS:
            if stack and token == stack[-1]:
                stack.pop()
                if not stack and token == "}":
                    found.append((text[start : match.end()], escaped, False))
                    start, escaped = match.end(), False
                    if start > quiet_from:
                        if text.find("\\", start) < 0:
                            return found + ([(text[start:], False, False)] if start < len(text) else [])
                        quiet_from = len(text)
        elif match.lastgroup == "open":
            stack.append(_OPENERS.get(token, ")"))
        elif token[0] == "\\":
            if text.startswith("(", _NAME_RUN.match(text, match.end()).end()):
                return [(text, True, False)]
            escaped = True
    if start < len(text):
        found.append((text[start:], escaped, stack[:1] != ["}"] and _starts_qualified_rule(text, start)))
    return found


def trim(css: str) -> str:
    """``css`` without the whitespace around it, but for whitespace that may end a string or url the
    sheet leaves open (a quote, paren or backslash on its last line)."""
    css = css.lstrip(CSS_SPACE)
    kept = css.rstrip(CSS_SPACE)
    last_line = kept[kept.rfind("\n") + 1 :]
    return css if any(c in last_line for c in "\"'(\\") else kept


def _starts_qualified_rule(text: str, start: int) -> bool:
    """Whether the first token from ``start`` (after whitespace and comments) begins a qualified rule:
    anything but an at-keyword and the ``<!--``/``-->`` a stylesheet skips (a backslash: not decided)."""
    first = _LEADING_SPACE.match(text, start).end()
    return first < len(text) and text[first] not in "@\\" and not text.startswith(("<!--", "-->"), first)
