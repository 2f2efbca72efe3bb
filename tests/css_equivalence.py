"""What a sanitized stylesheet means, for comparing the sanitizer's fast path with its full tinycss2 walk.

``meaning(css)`` reads CSS as a browser applies it: rules and declarations it would drop as invalid are
left out, comments and whitespace between tokens do not count, and every font stack outside
``@font-face`` gets the system fallback the walk adds (verbatim pieces keep the stack as written).
Two stylesheets with the same meaning load and run the same things and style a page the same way.
"""

from __future__ import annotations

import tinycss2

from mirror.sanitize_css import RULE_BLOCK_AT, _with_fallback


def meaning(css: str) -> tuple:
    return _rules(tinycss2.parse_stylesheet(css, skip_comments=True, skip_whitespace=True), False)


def _rules(nodes, in_font_face: bool) -> tuple:
    out = []
    for node in nodes:
        if node.type == "qualified-rule":
            out.append(("rule", _tokens(node.prelude), _block(node.content, False)))
        elif node.type == "at-rule":
            out.append(("@" + node.lower_at_keyword, _tokens(node.prelude), _at_content(node)))
        elif node.type == "declaration":
            value = node.value
            if node.lower_name == "font-family" and not in_font_face:
                value = _with_fallback(value)
            out.append((node.lower_name, _tokens(value), node.important))
    return tuple(out)


def _at_content(node):
    if node.content is None:
        return None
    if node.lower_at_keyword in RULE_BLOCK_AT:
        return _rules(tinycss2.parse_rule_list(node.content, skip_comments=True, skip_whitespace=True), False)
    return _block(node.content, node.lower_at_keyword == "font-face")


def _block(content, in_font_face: bool) -> tuple:
    nodes = tinycss2.parse_blocks_contents(content, skip_comments=True, skip_whitespace=True)
    return _rules(nodes, in_font_face)


def _tokens(tokens) -> tuple:
    """Tokens as values (a string cut by the end of the sheet is the same string), blocks and functions
    by their content; whitespace and comments left out."""
    out = []
    for t in tokens:
        if t.type in ("whitespace", "comment") or t.type == "error" and t.kind.startswith("eof-in-"):
            continue  # the end of the sheet closing a string or url is no error to a browser
        if t.type in ("string", "url"):
            out.append((t.type, t.value))
        elif t.type == "function":
            out.append((t.lower_name, _tokens(t.arguments)))
        elif t.type in ("() block", "[] block", "{} block"):
            out.append((t.type, _tokens(t.content)))
        else:
            out.append(tinycss2.serialize([t]))
    return tuple(out)
