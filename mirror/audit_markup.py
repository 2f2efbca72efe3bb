"""Markup for the audit: HTML through a real HTML5 parser (lexbor, via selectolax), XML and SVG through
expat, each element handed to audit_rules.

Owns: deciding how a browser would decode a page (BOM, <meta charset>), parsing, walking every element
(template contents included; <noscript> content is parsed as markup, as a browser without script does),
and finding the source line of an element. The HTML parser gives no positions, so the line is found by
counting: the n-th <img> of the tree is the n-th "<img" of the raw text outside comments and raw text.
That is exact except where the parser invents or renames elements (an implied <tbody>, <image> read as
<img>), which shifts the lines of later elements of that one tag.
Never imports the sanitizer.
"""

from __future__ import annotations

import bisect
import codecs
import functools
import re
from xml.parsers import expat

from selectolax.lexbor import LexborHTMLParser

from mirror.audit_rules import TAG_RULES, Element, FileAudit, check_element

CSS_CHARSET = re.compile(rb'@charset "([^"]{1,40})";')
META_CHARSET = re.compile(rb"<meta[^>]*?charset\s*=\s*[\"']?\s*([a-zA-Z0-9_.:\-]+)", re.IGNORECASE)
UTF8_LABELS = frozenset({"utf-8", "utf8", "unicode-1-1-utf-8", "unicode11utf8", "unicode20utf8",
                         "x-unicode20utf8"})
# A <meta> cannot make a browser read a page as UTF-16 (it reads UTF-8 instead); ASCII labels mean
# windows-1252 to a browser.
BROWSER_LABELS = {"utf-16": "utf-8", "utf-16le": "utf-8", "utf-16be": "utf-8", "us-ascii": "cp1252",
                  "ascii": "cp1252", "iso-8859-1": "cp1252", "latin1": "cp1252", "x-user-defined": "cp1252"}
# Where "<tag" is not a tag: comments, and the content of raw-text elements (approximate, for lines only).
DEAD_START = re.compile(rb"<!--|<(script|style|textarea|title|xmp|noembed|noframes|iframe)(?=[\s/>])")
XLINK_NS = "http://www.w3.org/1999/xlink"
XML_NS = "http://www.w3.org/XML/1998/namespace"
ALWAYS_VISIT = frozenset(TAG_RULES) | {"template", "iframe"}


class Locator:
    """Source lines of start tags: the n-th <tag> element of the tree is the n-th "<tag" of the source
    outside comments and raw text (script, style, textarea, ...)."""

    def __init__(self, source: bytes | str):
        text = source if isinstance(source, bytes) else source.encode("utf-8", "surrogatepass")
        self.text = text.lower()
        self.found: dict[str, tuple[list[int], int]] = {}  # tag -> (its start tags so far, next search)
        self.dead: list[tuple[int, int]] | None = None
        self.position, self.line = 0, 1

    def locate(self, tag: str, nth: int) -> int:
        """The line of the ``nth`` (1-based) element ``tag``, in any order of calls."""
        positions, pos = self.found.get(tag) or self.found.setdefault(tag, ([], 0))
        pattern = _start_tag(tag)
        while len(positions) < nth:
            hit = pattern.search(self.text, pos)
            if hit is None:
                break
            pos = hit.end()
            if not self._in_dead_text(hit.start()):
                positions.append(hit.start())
        self.found[tag] = (positions, pos)
        if len(positions) >= nth:
            self._move_to(positions[nth - 1])
        return self.line

    def _move_to(self, at: int) -> None:
        if at >= self.position:
            self.line += self.text.count(b"\n", self.position, at)
        else:
            self.line -= self.text.count(b"\n", at, self.position)
        self.position = at

    def _in_dead_text(self, at: int) -> bool:
        if self.dead is None:
            self.dead = _dead_regions(self.text)
            self.starts = [start for start, _ in self.dead]
        i = bisect.bisect_right(self.starts, at) - 1
        return i >= 0 and at < self.dead[i][1]


@functools.lru_cache(maxsize=512)
def _start_tag(tag: str) -> re.Pattern:
    return re.compile(b"<" + re.escape(tag.encode("utf-8")) + rb"(?=[\s/>]|\Z)")


def _dead_regions(text: bytes) -> list[tuple[int, int]]:
    regions, pos = [], 0
    while (match := DEAD_START.search(text, pos)) is not None:
        if match.group(1) is None:  # a comment
            close = text.find(b"-->", match.end())
            start, end = match.start(), len(text) if close == -1 else close + 3
        else:
            start = text.find(b">", match.end()) + 1
            if start == 0:
                break
            close = text.find(b"</" + match.group(1), start)
            end = len(text) if close == -1 else close
        regions.append((start, end))
        pos = max(end, match.end())
    return regions


def audit_html(fa: FileAudit, data: bytes) -> None:
    source, problem = decode_page(data)
    if problem:
        fa.add(1, "encoding", problem)
    tree = LexborHTMLParser(source)
    _walk(fa, tree.root, Locator(source))


def _walk(fa: FileAudit, root, locator: Locator) -> None:
    """Every element in document order, template contents where the template stands (iteratively)."""
    seen: dict[str, int] = {}
    stack = [root.traverse(include_text=False)]
    while stack:
        node = next(stack[-1], None)
        if node is None:
            stack.pop()
            continue
        tag = node.tag
        if not tag or tag[0] == "-":
            continue  # comments, the document, fragments
        tag = tag.lower()
        nth = seen[tag] = seen.get(tag, 0) + 1
        raw = node.attributes
        if not raw and tag not in ALWAYS_VISIT:
            continue
        parent = node.parent
        el = Element(tag, {k.lower(): v for k, v in raw.items()},
                     (parent.tag or "").lower() if parent is not None else "",
                     locate=lambda t=tag, n=nth: locator.locate(t, n), text=lambda n=node: n.text(deep=True))
        check_element(fa, el)
        if tag == "template":
            stack += [fragment.traverse(include_text=False) for fragment in reversed(node.template_fragments())]


def decode_page(data: bytes) -> tuple[bytes | str, str]:
    """The page as a browser reading it would decode it, and what is wrong with its encoding ("" if fine).

    UTF-8 stays bytes (the parser reads UTF-8 bytes fastest); anything else is decoded here."""
    match = META_CHARSET.search(data, 0, 1024)
    return _decode(data, match.group(1) if match else None, "page")


def decode_stylesheet(data: bytes) -> tuple[str, str]:
    """A CSS file as a browser opening it would decode it (BOM, then ``@charset``), and the problem."""
    match = CSS_CHARSET.match(data)
    text, problem = _decode(data, match.group(1) if match else None, "stylesheet")
    return (text.decode("utf-8", "replace") if isinstance(text, bytes) else text), problem


def _decode(data: bytes, declared: bytes | None, kind: str) -> tuple[bytes | str, str]:
    for bom, codec in ((codecs.BOM_UTF8, None), (codecs.BOM_UTF16_LE, "utf-16-le"),
                       (codecs.BOM_UTF16_BE, "utf-16-be")):
        if data.startswith(bom):
            return (data[len(bom):] if codec is None else data[len(bom):].decode(codec, "replace")), ""
    if declared is None:
        return data, ""
    label = declared.decode("ascii", "replace").strip().lower()
    if label in UTF8_LABELS:
        return data, ""
    problem = (f"declares charset {label}; a mirror {kind} must be UTF-8 (it is served as UTF-8, and a browser "
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
        fa.use_url(line, pseudo["href"], "<?xml-stylesheet?>", "style")
