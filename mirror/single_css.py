"""Page stylesheets made to apply to one page of a single document, and nowhere else.

Owns: rewriting a page's CSS (from ``<style>``, ``<link rel=stylesheet>`` and ``style=""``) so that, once all
pages share one document, each page keeps its look and no page restyles another. Never decides which URL
is allowed (the caller's ``resolve`` does) and never touches HTML.

How a rule is scoped (``:where()`` keeps the rule's own specificity, so the page's cascade is unchanged):

    p a, .x                  ->  :where(body>.m-s3>.m-body) p a, :where(body>.m-s3>.m-body) .x
    html, body.dark, :root   ->  :where(body>.m-s3>.m-body), :where(body>.m-s3>.m-body).dark, ...
    #main .x                 ->  :where(#p-faq>.m-body) #p-faq--main .x   (only on pages with id="main")

A stylesheet shared by many pages is written once, scoped by a class (``m-s3``) that every section using it
carries; only its rules that name an id are repeated per page, because ids get a per-page prefix. Page
content lives in a ``.m-body`` wrapper inside its section (``html`` and ``body`` map to that wrapper), and
every rule is confined to it: no page stylesheet can show or hide a page or restyle the document's own parts.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import tinycss2
from tinycss2 import ast

BLOCK_AT_RULES = {"media", "supports", "layer", "container", "document", "-moz-document", "scope",
                  "starting-style"}
COMBINATORS = {">", "+", "~"}
ROOT_NAMES = {"html", "body"}

UrlFn = Callable[[str], "str | None"]  # a URL as written -> its replacement, or None to drop it


def parse_sheet(text: str) -> list:
    return tinycss2.parse_stylesheet(text, skip_comments=True, skip_whitespace=True)


def imports(text: str) -> list[str]:
    """The URLs a stylesheet imports (its ``@import`` rules; media conditions are not kept)."""
    found = []
    if "@import" not in text.lower():
        return found
    for rule in parse_sheet(text):
        if isinstance(rule, ast.AtRule) and rule.lower_at_keyword == "import":
            urls = [_url_of(t) or (t.value if isinstance(t, ast.StringToken) else None) for t in rule.prelude]
            found.extend([u for u in urls if u][:1])
    return found


def rewrite_urls(nodes: Iterable, resolve: UrlFn) -> None:
    """Replace every ``url()`` in ``nodes`` (in place) by ``resolve(url)``, or ``none`` when that is None."""
    for node in nodes:
        for tokens in _token_lists(node):
            for i, token in enumerate(tokens):
                url = _url_of(token)
                if url is not None:
                    tokens[i] = url_token(resolve(url))
                else:
                    rewrite_urls([token], resolve)


def _token_lists(node) -> list[list]:
    lists = []
    for name in ("prelude", "content", "arguments"):
        value = getattr(node, name, None)
        if isinstance(value, list):
            lists.append(value)
    return lists


def _url_of(token) -> str | None:
    if isinstance(token, ast.URLToken):
        return token.value
    if isinstance(token, ast.FunctionBlock) and token.lower_name == "url":
        strings = [t for t in token.arguments if isinstance(t, ast.StringToken)]
        return strings[0].value if strings else ""
    return None


def url_token(url: str | None):
    if url is None:
        return ast.IdentToken(0, 0, "none")
    quoted = url.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\a ")
    return ast.URLToken(0, 0, url, f'url("{quoted}")')


def rewrite_declarations(text: str, resolve: UrlFn) -> str:
    """A ``style=""`` attribute with its URLs rewritten."""
    tokens = tinycss2.parse_component_value_list(text, skip_comments=True)
    holder = ast.FunctionBlock(0, 0, "x", tokens)
    rewrite_urls([holder], resolve)
    return tinycss2.serialize(holder.arguments).strip()


class Sheet:
    """One stylesheet, parsed once, with its URLs already rewritten for the single document."""

    def __init__(self, parts: list[tuple[str, UrlFn]]):
        """``parts``: the sheet's text after the texts it imports, each with the resolver for its own URLs."""
        self.rules = []
        for text, resolve in parts:
            rules = parse_sheet(text)
            rewrite_urls(rules, resolve)
            self.rules.extend(rules)
        self.has_ids = any(_names_ids(rule) for rule in _qualified(self.rules))

    def shared(self, scope_class: str) -> str:
        """The rules that name no id, scoped to every section carrying ``scope_class``."""
        wrapper = f"body>.{scope_class}"
        return _render(self.rules, lambda s: None if _selector_ids(s) else _scope(s, wrapper, None), True)

    def for_page(self, section_id: str, page_ids: set[str], new_id: Callable[[str], str]) -> str:
        """The rules that name ids all present on this page, scoped to its section, ids renamed."""
        def one(sel):
            ids = _selector_ids(sel)
            if not ids or not ids <= page_ids:
                return None
            return _scope(sel, f"#{section_id}", new_id)
        return _render(self.rules, one, False) if self.has_ids else ""


def _qualified(rules):
    for rule in rules:
        if isinstance(rule, ast.QualifiedRule):
            yield rule
        elif isinstance(rule, ast.AtRule) and rule.lower_at_keyword in BLOCK_AT_RULES and rule.content:
            yield from _qualified(tinycss2.parse_rule_list(rule.content, True, True))


def _names_ids(rule) -> bool:
    return any(_selector_ids(sel) for sel in _split_selectors(rule.prelude))


def _selector_ids(tokens) -> set[str]:
    found = set()
    for token in tokens:
        if isinstance(token, ast.HashToken) and token.is_identifier:
            found.add(token.value)
        elif isinstance(token, ast.FunctionBlock):
            found |= _selector_ids(token.arguments)
    return found


def _render(rules, transform, keep_global: bool) -> str:
    out = []
    for rule in rules:
        if isinstance(rule, ast.QualifiedRule):
            selectors = [s for s in (transform(sel) for sel in _split_selectors(rule.prelude)) if s]
            if selectors:
                out.append(f"{','.join(selectors)}{{{tinycss2.serialize(rule.content).strip()}}}")
        elif isinstance(rule, ast.AtRule):
            out.append(_render_at_rule(rule, transform, keep_global))
    return "".join(out)


def _render_at_rule(rule, transform, keep_global: bool) -> str:
    keyword = rule.lower_at_keyword
    prelude = tinycss2.serialize(rule.prelude).strip()
    if keyword in BLOCK_AT_RULES and rule.content is not None:
        inner = _render(tinycss2.parse_rule_list(rule.content, True, True), transform, keep_global)
        return f"@{keyword} {prelude}{{{inner}}}" if inner else ""
    if keyword in ("import", "namespace", "charset", "page"):
        return ""  # imports are inlined by the caller; @page would reach every page
    if not keep_global or rule.content is None:
        return ""
    # @font-face, @keyframes, @property, @counter-style: global by nature; written once with the shared part
    return f"@{keyword} {prelude}{{{tinycss2.serialize(rule.content).strip()}}}"


def _split_selectors(prelude) -> list[list]:
    selectors, current = [], []
    for token in prelude:
        if isinstance(token, ast.LiteralToken) and token.value == ",":
            selectors.append(current)
            current = []
        else:
            current.append(token)
    selectors.append(current)
    return [_strip(s) for s in selectors if _strip(s)]


def _strip(tokens: list) -> list:
    start, end = 0, len(tokens)
    while start < end and isinstance(tokens[start], ast.WhitespaceToken):
        start += 1
    while end > start and isinstance(tokens[end - 1], ast.WhitespaceToken):
        end -= 1
    return tokens[start:end]


def _scope(selector: list, wrapper: str, new_id: Callable[[str], str] | None) -> str:
    tokens = _rename_ids(selector, new_id) if new_id else selector
    rest, root = _drop_root_compounds(tokens)
    body = f":where({wrapper}>.m-body)"
    text = tinycss2.serialize(rest).rstrip()
    return body + text if root else f"{body} {text.lstrip()}"


def _rename_ids(tokens: list, new_id: Callable[[str], str]) -> list:
    out = []
    for token in tokens:
        if isinstance(token, ast.HashToken) and token.is_identifier:
            out.append(ast.HashToken(0, 0, new_id(token.value), True))
        elif isinstance(token, ast.FunctionBlock):
            out.append(ast.FunctionBlock(0, 0, token.name, _rename_ids(token.arguments, new_id)))
        else:
            out.append(token)
    return out


def _drop_root_compounds(tokens: list) -> tuple[list, bool]:
    """Remove leading ``html``/``:root``/``body`` type selectors; True when the selector started at one."""
    found = False
    while True:
        n = _root_name_length(tokens)
        if not n:
            return tokens, found
        found = True
        tokens = tokens[n:]
        if _compound_ends(tokens):
            nxt = _skip_combinator(_strip(tokens))
            if _root_name_length(nxt):
                tokens = nxt
                continue
        return tokens, found


def _root_name_length(tokens: list) -> int:
    if tokens and isinstance(tokens[0], ast.IdentToken) and tokens[0].lower_value in ROOT_NAMES:
        return 1
    if (len(tokens) > 1 and isinstance(tokens[0], ast.LiteralToken) and tokens[0].value == ":"
            and isinstance(tokens[1], ast.IdentToken) and tokens[1].lower_value == "root"):
        return 2
    return 0


def _compound_ends(tokens: list) -> bool:
    return bool(tokens) and (isinstance(tokens[0], ast.WhitespaceToken)
                             or (isinstance(tokens[0], ast.LiteralToken) and tokens[0].value in COMBINATORS))


def _skip_combinator(tokens: list) -> list:
    if tokens and isinstance(tokens[0], ast.LiteralToken) and tokens[0].value in COMBINATORS:
        return _strip(tokens[1:])
    return tokens
