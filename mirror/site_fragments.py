"""After every page of a site is sanitized: each ``#fragment`` link names an element that exists.

Owns: the one cross-page pass of ``mirror build --from``. It collects each output page's fragment
targets (``id`` and ``<a name>``), then a link whose fragment names nothing in its target page keeps
the page but loses the fragment; a same-page one loses its href (a link to nowhere becomes text).
Works on lexbor trees, never on text.
"""

from __future__ import annotations

import posixpath
from urllib.parse import unquote

from selectolax.lexbor import LexborHTMLParser

ALWAYS_THERE = ("", "top")  # "#" and "#top" scroll to the top of any page


def fix_fragments(pages: dict[str, bytes]) -> list[tuple[str, str]]:
    """Rewrite ``pages`` (output path -> HTML) in place; return the (page, href) pairs that were fixed."""
    trees = {rel: LexborHTMLParser(html.decode("utf-8")) for rel, html in pages.items()}
    targets = {rel: _targets(tree) for rel, tree in trees.items()}
    fixed = []
    for rel, tree in trees.items():
        changed = False
        for link in tree.css('a[href*="#"]'):
            href = link.attributes["href"] or ""
            path, _, fragment = href.partition("#")
            fragment = unquote(fragment).split(":~:", 1)[0]
            if fragment.lower() in ALWAYS_THERE or ":" in path.split("/", 1)[0]:
                continue  # the top of a page, or an external URL
            page = (
                rel if not path else posixpath.normpath(posixpath.join(posixpath.dirname(rel), unquote(path)))
            )
            if page not in targets or fragment in targets[page]:
                continue
            if path:
                link.attrs["href"] = path
            else:
                del link.attrs["href"]
            fixed.append((rel, href))
            changed = True
        if changed:
            pages[rel] = tree.html.encode("utf-8")
    return fixed


def _targets(tree) -> set[str]:
    found = {node.attributes.get("id") or "" for node in tree.css("[id]")}
    return found | {node.attributes.get("name") or "" for node in tree.css("a[name]")}
