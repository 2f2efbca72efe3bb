"""Markup for the audit: HTML through a real HTML5 parser (lexbor, via selectolax), XML and SVG through
expat, each element handed to audit_rules.

Owns: deciding how a browser would decode a page (BOM, <meta charset>), parsing, walking every element
(template contents included; <noscript> content is parsed as markup, as a browser without script does),
and finding the source line of an element. The HTML parser gives no positions, so the line is found by
searching the raw text for the element's start tag, forward from the previous one: elements come in
source order, so this is exact except for markup the parser moves (foster-parented table content).
Never imports the sanitizer.
"""

from __future__ import annotations

import codecs
import re
from xml.parsers import expat

from selectolax.lexbor import LexborHTMLParser

from mirror.audit_rules import TAG_RULES, Element, FileAudit, check_element

META_CHARSET = re.compile(rb"<meta[^>]*?charset\s*=\s*[\"']?\s*([a-zA-Z0-9_.:\-]+)", re.I)
UTF8_LABELS = frozenset({"utf-8", "utf8", "unicode-1-1-utf-8", "unicode11utf8", "unicode20utf8",
                         "x-unicode20utf8"})
# A <meta> cannot make a browser read a page as UTF-16 (it reads UTF-8 instead); ASCII labels mean
# windows-1252 to a browser.
BROWSER_LABELS = {"utf-16": "utf-8", "utf-16le": "utf-8", "utf-16be": "utf-8", "us-ascii": "cp1252",
                  "ascii": "cp1252", "iso-8859-1": "cp1252", "latin1": "cp1252", "x-user-defined": "cp1252"}
TAG_END = b" \t\n\r\f/>"
XLINK_NS = "http://www.w3.org/1999/xlink"
XML_NS = "http://www.w3.org/XML/1998/namespace"
ALWAYS_VISIT = frozenset(TAG_RULES) | {"template", "iframe"}


class Locator:
    """Source lines of start tags, found forward from the previous hit in the raw text."""

    def __init__(self, source: bytes | str):
        self.text = source.lower()
        self.is_bytes = isinstance(source, bytes)
        self.newline = b"\n" if self.is_bytes else "\n"
        self.tag_end = TAG_END if self.is_bytes else TAG_END.decode()
        self.cursor = 0
        self.line = 1

    def locate(self, tag: str) -> int:
        needle = ("<" + tag).encode() if self.is_bytes else "<" + tag
        pos = self.text.find(needle, self.cursor)
        while pos != -1:
            after = self.text[pos + len(needle):pos + len(needle) + 1]
            if not after or after in self.tag_end:
                self.line += self.text.count(self.newline, self.cursor, pos)
                self.cursor = pos + 1
                return self.line
            pos = self.text.find(needle, pos + 1)
        return self.line


def audit_html(fa: FileAudit, data: bytes) -> None:
    source, problem = decode_page(data)
    if problem:
        fa.add(1, "encoding", problem)
    tree = LexborHTMLParser(source)
    _walk(fa, tree.root, Locator(source))


def _walk(fa: FileAudit, root, locator: Locator) -> None:
    for node in root.traverse(include_text=False):
        tag = node.tag
        if not tag or tag[0] == "-":
            continue  # comments, the document, fragments
        raw = node.attributes
        if not raw and tag not in ALWAYS_VISIT:
            continue
        tag = tag.lower()
        parent = node.parent
        el = Element(tag, {k.lower(): v for k, v in raw.items()},
                     (parent.tag or "").lower() if parent is not None else "",
                     locate=lambda t=tag: locator.locate(t), text=lambda n=node: n.text(deep=True))
        check_element(fa, el)
        if tag == "template":
            for fragment in node.template_fragments():
                _walk(fa, fragment, locator)


def decode_page(data: bytes) -> tuple[bytes | str, str]:
    """The page as a browser reading it would decode it, and what is wrong with its encoding ("" if fine).

    UTF-8 stays bytes (the parser reads UTF-8 bytes fastest); anything else is decoded here."""
    for bom, codec in ((codecs.BOM_UTF8, None), (codecs.BOM_UTF16_LE, "utf-16-le"),
                       (codecs.BOM_UTF16_BE, "utf-16-be")):
        if data.startswith(bom):
            return (data[len(bom):] if codec is None else data[len(bom):].decode(codec, "replace")), ""
    match = META_CHARSET.search(data, 0, 1024)
    if not match:
        return data, ""
    label = match.group(1).decode("ascii").lower()
    if label in UTF8_LABELS:
        return data, ""
    problem = (f"declares charset {label}; a mirror page must be UTF-8 (it is served as UTF-8, and a browser "
               "opening the file would decode it differently)")
    try:
        codec = codecs.lookup(BROWSER_LABELS.get(label, label)).name
    except LookupError:
        return data, problem
    if codec in ("utf-8", "utf-7"):
        return data, problem
    return data.decode(codec, "replace"), problem


# --- XML (SVG, XHTML, feeds, XSLT) ------------------------------------------------------------------

def audit_xml(fa: FileAudit, data: bytes) -> None:
    """Walk an XML document as a browser's XML parser sees it (not as an HTML parser would)."""
    parser = expat.ParserCreate(namespace_separator=" ")
    stack: list[tuple[str, dict, int, list[str] | None]] = []

    def start(name: str, attrs: dict) -> None:
        tag = _local(name)
        parent = stack[-1][0] if stack else ""
        mapped = {_attr_name(k): v for k, v in attrs.items()}
        line = parser.CurrentLineNumber
        if tag == "style":
            stack.append((tag, mapped, line, []))
            return
        stack.append((tag, mapped, line, None))
        check_element(fa, Element(tag, mapped, parent, line=line))

    def end(name: str) -> None:
        tag, mapped, line, text = stack.pop()
        if text is not None:
            parent = stack[-1][0] if stack else ""
            check_element(fa, Element(tag, mapped, parent, line=line, text="".join(text)))

    def chars(data: str) -> None:
        if stack and stack[-1][3] is not None:
            stack[-1][3].append(data)

    def instruction(target: str, data: str) -> None:
        if target.lower() == "xml-stylesheet":
            _xml_stylesheet(fa, parser.CurrentLineNumber, data)

    parser.StartElementHandler, parser.EndElementHandler = start, end
    parser.CharacterDataHandler, parser.ProcessingInstructionHandler = chars, instruction
    try:
        parser.Parse(data, True)
    except expat.ExpatError as e:
        fa.add(e.lineno, "unparsable", f"is not well-formed XML ({expat.ErrorString(e.code)}, column "
                                       f"{e.offset}); a browser shows an error instead of the rest")


def _local(name: str) -> str:
    return name.rsplit(" ", 1)[-1].lower()


def _attr_name(name: str) -> str:
    namespace, _, local = name.rpartition(" ")
    if namespace == XLINK_NS:
        return f"xlink:{local.lower()}"
    if namespace == XML_NS:
        return f"xml:{local.lower()}"
    return local.lower()


PSEUDO_ATTR = re.compile(r"""([\w:-]+)\s*=\s*(?:"([^"]*)"|'([^']*)')""")


def _xml_stylesheet(fa: FileAudit, line: int, data: str) -> None:
    pseudo = {m.group(1).lower(): m.group(2) if m.group(2) is not None else m.group(3)
              for m in PSEUDO_ATTR.finditer(data)}
    kind = (pseudo.get("type") or "").lower()
    if "xsl" in kind or (pseudo.get("href") or "").lower().endswith((".xsl", ".xslt")):
        fa.add(line, "script", "<?xml-stylesheet?> applies an XSLT stylesheet, which can write script")
    if pseudo.get("href"):
        fa.use_url(line, pseudo["href"], "<?xml-stylesheet?>", "load")
