"""Helpers for tests that read built pages: visible text, links and ids, parsed with a real HTML5 parser."""

from __future__ import annotations

import re

from selectolax.lexbor import LexborHTMLParser

SPACE = re.compile(r"\s+")


def normalise(text: str) -> str:
    return SPACE.sub(" ", text.replace("\u00a0", " ")).strip()


def visible_text(html: str) -> str:
    tree = LexborHTMLParser(html)
    for node in tree.css("style, script, template, head"):
        node.decompose()
    return normalise(tree.body.text(separator="") if tree.body else "")


def ids(html: str) -> set[str]:
    return {node.attributes["id"] for node in LexborHTMLParser(html).css("[id]")}


def hrefs(html: str) -> list[str]:
    return [node.attributes.get("href") or "" for node in LexborHTMLParser(html).css("a[href]")]
