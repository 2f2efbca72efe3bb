"""The audit's rules: what one element, attribute, stylesheet or page policy means for a reader.

Owns: the rule ids and their severities, the per-file collector of findings and local references, and
the checks of one element at a time (independent of which parser produced it), of CSS (via audit_css)
and of a page's Content-Security-Policy (via audit_policy). Never parses HTML or XML and never touches
the file system (audit_markup and audit do that).

Rules (errors unless marked)::

    script         <script>, on* attributes, javascript:/vbscript:/scriptable data: URLs, <iframe srcdoc>,
                   SVG animation of links, CSS expression()/behavior/-moz-binding, script files
    remote-load    anything fetched without a click from outside the audited folder (or escaping it; a
                   symbolic link counts, as a server could follow it out)
    form           <form>, formaction
    broken-link    a local reference to a missing file, or #fragment to a missing id
    policy         a page without a <meta> Content-Security-Policy forbidding script and remote loads
    unparsable     a file the audit could not read or parse
    encoding       a page or stylesheet declaring a charset other than UTF-8
    safest         warning: degrades in Tor Browser at Safest (SVG, MathML, web fonts, autoplay media)
    external-link  note (an error with --strict-links): a link a reader can click that leaves the folder
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass, field

from mirror.audit_css import CssItem, scan_stylesheet
from mirror.audit_policy import SAFE_CSP, csp_problem
from mirror.audit_urls import (
    SCHEME,
    SCRIPT_SCHEMES,
    classify,
    data_is_inert,
    normalize,
    refresh_url,
    split_urls,
    srcset_urls,
)

SEVERITY = {
    "script": "error", "remote-load": "error", "form": "error", "broken-link": "error", "policy": "error",
    "unparsable": "error", "encoding": "error", "safest": "warning", "external-link": "note",
}
IMAGE_TAGS = frozenset({"img", "image", "input", "picture", "feimage"})
FRAME_TAGS = frozenset({"iframe", "frame", "embed", "object", "applet", "portal", "fencedframe"})
LINK_TAGS = frozenset({"a", "area"})
PLUGIN_URL_ATTRS = frozenset({"codebase", "archive", "code", "classid", "object"})
PLUGIN_PARAMS = frozenset({"movie", "src", "url", "filename", "code", "codebase", "source"})
PRESENTATION_ATTRS = frozenset({"fill", "stroke", "filter", "mask", "clip-path", "marker-start", "marker-mid",
                                "marker-end", "cursor"})
TEXT_ATTRS = frozenset({"alt", "title", "placeholder", "value", "label", "summary", "content", "class", "id",
                        "name", "lang", "dir", "type", "rel", "width", "height"})
ANIMATION_TAGS = frozenset({"animate", "set", "animatetransform", "animatemotion", "animatecolor"})
LINK_HEADER_URL = re.compile(r"<([^>]*)>")


@dataclass(frozen=True)
class Finding:
    file: str
    line: int
    rule: str
    message: str
    severity: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line} [{self.rule}] {self.message}"


@dataclass(frozen=True)
class Ref:
    """A local reference to check once every file is read."""

    line: int
    path: str  # resolved, relative to the root; "" is the referring file itself; a folder ends with "/"
    fragment: str
    what: str  # "<a href>"
    raw: str
    image: bool


@dataclass
class FileAudit:
    """Collects what one file does; the markup walkers feed it one element at a time."""

    rel: str
    strict_links: bool = False
    is_page: bool = False
    markup: bool = False  # read as HTML or XML: its ids are fragment targets
    findings: list[Finding] = field(default_factory=list)
    refs: list[Ref] = field(default_factory=list)
    ids: set[str] = field(default_factory=set)
    policy_ok: bool = False
    policy_problem: str = ""

    def __post_init__(self):
        self.base_dir = posixpath.dirname(self.rel)
        self.base_set = False

    def add(self, line: int, rule: str, message: str) -> None:
        severity = SEVERITY[rule]
        if rule == "external-link" and self.strict_links:
            severity = "error"
        self.findings.append(Finding(self.rel, line, rule, message, severity))

    def use_url(self, line: int, value: str, what: str, how: str = "load") -> None:
        """Judge one URL. how: load (fetched now) | image | style (a stylesheet) | frame | link (on a click)
        | nav | ping | submit."""
        url = classify(value, self.base_dir)
        if url.kind == "script":
            self.add(line, "script", f"{what} runs a {url.scheme}: URL")
        elif url.kind == "data":
            self._data_url(line, url, what, how)
        elif url.kind in ("remote", "outside"):
            shown = url.shown if url.kind == "remote" else f"{url.shown} (outside the mirror's folder)"
            self._remote(line, shown, what, how)
        elif url.kind == "local" and how != "submit":
            self.refs.append(Ref(line, url.path, url.fragment, what, value, how == "image"))

    def _remote(self, line: int, shown: str, what: str, how: str) -> None:
        if how == "link":
            self.add(line, "external-link", f"{what} leaves the mirror: {shown}")
        elif how == "nav":
            self.add(line, "remote-load", f"{what} navigates to {shown} without a click")
        elif how == "ping":
            self.add(line, "remote-load", f"{what} reports clicks to {shown}")
        elif how != "submit":
            self.add(line, "remote-load", f"{what} fetches {shown}")

    def _data_url(self, line: int, url, what: str, how: str) -> None:
        if url.data_type == "text/css" or how == "style":  # a stylesheet is read as CSS whatever its type
            self.check_css(url.data_body, line, f"{what} (data: CSS)", single_line=True)
        elif not data_is_inert(url.data_type, how == "image"):
            self.add(line, "script", f"{what} holds a {url.data_type} data: URL, which can run script")
        elif url.data_type == "image/svg+xml":
            self.add(line, "safest", f"{what} is an SVG image, which Tor Browser does not show at Safest")

    def check_css(self, text: str, line: int, what: str, single_line: bool = False) -> None:
        """Judge CSS found at ``line`` (a file starts at line 1; ``<style>`` at its tag's line)."""
        for item in scan_stylesheet(text):
            at = line if single_line else line + item.line - 1
            self._css_item(at, item, what)

    def _css_item(self, line: int, item: CssItem, what: str) -> None:
        if item.kind == "font-face":
            self.add(line, "safest", f"{what} declares a web font (@font-face), blocked at Safest")
        elif item.kind == "script":
            self.add(line, "script", f"{what} uses {item.value}, which can run script")
        else:
            self.use_url(line, item.value, f"{what} {'@import' if item.kind == 'import' else 'url()'}",
                         "style" if item.kind == "import" else "image")

    def finish(self) -> None:
        if self.is_page and not self.policy_ok:
            problem = self.policy_problem or "has no Content-Security-Policy <meta> in its <head>"
            self.add(1, "policy", f"page {problem}; add <meta http-equiv=\"Content-Security-Policy\" "
                                  f"content=\"{SAFE_CSP}\">")


class Element:
    """One element as the rules see it: lowercase tag and attribute names, a lazily computed line."""

    __slots__ = ("_line", "_locate", "_text", "attrs", "parent", "tag")

    def __init__(self, tag: str, attrs: dict, parent: str, line=None, locate=None, text=None):
        self.tag, self.attrs, self.parent = tag, attrs, parent
        self._line, self._locate, self._text = line, locate, text

    @property
    def line(self) -> int:
        if self._line is None:
            self._line = self._locate()
        return self._line

    def text(self) -> str:
        return self._text() if callable(self._text) else (self._text or "")


def check_element(fa: FileAudit, el: Element) -> None:
    tag, attrs = el.tag, el.attrs
    rule = TAG_RULES.get(tag)
    if rule is not None:
        rule(fa, el)
    for name, value in attrs.items():
        value = value or ""
        if name.startswith("on"):
            fa.add(el.line, "script", f"<{tag} {name}> runs script")
        elif name in ATTR_RULES:
            ATTR_RULES[name](fa, el, name, value)
        elif ":" in value and name not in TEXT_ATTRS and not name.startswith(("aria-", "data-")):
            _any_script_url(fa, el, name, value)
    if "id" in attrs:
        fa.ids.add(attrs["id"] or "")


def _any_script_url(fa: FileAudit, el: Element, name: str, value: str) -> None:
    match = SCHEME.match(normalize(value))
    if match and match.group(1).lower() in SCRIPT_SCHEMES:
        fa.add(el.line, "script", f"<{el.tag} {name}> holds a {match.group(1).lower()}: URL")


# --- elements ---------------------------------------------------------------------------------------

def _script(fa: FileAudit, el: Element) -> None:
    src = el.attrs.get("src")
    what = f"<script src={src}>" if src else "<script>"
    fa.add(el.line, "script", f"{what} element: a mirror carries no script")


def _form(fa: FileAudit, el: Element) -> None:
    fa.add(el.line, "form", "<form> would send what a reader types somewhere; a mirror has no forms")


def _base(fa: FileAudit, el: Element) -> None:
    href = el.attrs.get("href")
    if href is None or fa.base_set:
        return
    fa.base_set = True
    url = classify(href, fa.base_dir)
    if url.kind == "local":
        fa.base_dir = url.path.rstrip("/") if url.path.endswith("/") else posixpath.dirname(url.path)
    elif url.kind == "script":
        fa.add(el.line, "script", f"<base href> is a {url.scheme}: URL")
    elif url.kind != "inert":
        fa.add(el.line, "remote-load", f"<base href> makes every relative URL load from {url.shown}")


def _meta(fa: FileAudit, el: Element) -> None:
    equiv = (el.attrs.get("http-equiv") or "").strip().lower()
    content = el.attrs.get("content") or ""
    if equiv == "refresh":
        target = refresh_url(content)
        if target is not None:
            fa.use_url(el.line, target, "<meta http-equiv=refresh>", "nav")
    elif equiv == "link":  # a Link header in a page: <url>; rel=preload
        for target in LINK_HEADER_URL.findall(content):
            fa.use_url(el.line, target, "<meta http-equiv=link>", "load")
    elif equiv == "content-security-policy" and not fa.policy_ok:
        if el.parent != "head":
            fa.policy_problem = "has its Content-Security-Policy <meta> outside <head>, where it is ignored"
            return
        problem = csp_problem(content)
        fa.policy_ok = problem is None
        fa.policy_problem = problem or ""


def _link_element(fa: FileAudit, el: Element) -> None:
    rel = " ".join((el.attrs.get("rel") or "").lower().split()) or "(no rel)"
    if el.attrs.get("href") is not None:
        fa.use_url(el.line, el.attrs["href"], f"<link rel={rel}>", "style" if "stylesheet" in rel else "load")
    if el.attrs.get("imagesrcset"):
        for url in srcset_urls(el.attrs["imagesrcset"]):
            fa.use_url(el.line, url, f"<link rel={rel} imagesrcset>", "image")


def _top_foreign(fa: FileAudit, el: Element) -> None:
    if fa.is_page and el.parent not in ("svg", "math", "foreignobject"):  # an .svg file warns where used
        kind = "SVG" if el.tag == "svg" else "MathML"
        fa.add(el.line, "safest", f"inline <{el.tag}>: {kind} is not shown in Tor Browser at Safest")


def _media(fa: FileAudit, el: Element) -> None:
    if "autoplay" in el.attrs:
        fa.add(el.line, "safest", f"<{el.tag} autoplay>: media waits for a click in Tor Browser at Safest")


def _animation(fa: FileAudit, el: Element) -> None:
    target = (el.attrs.get("attributename") or "").strip().lower()
    if target.startswith("on"):
        fa.add(el.line, "script", f"<{el.tag} attributeName={target}> sets an event handler")
    elif target in ("href", "xlink:href"):
        for key in ("to", "from", "by", "values"):
            for value in (el.attrs.get(key) or "").split(";"):
                if value.strip():
                    fa.use_url(el.line, value, f"<{el.tag} attributeName={target} {key}>", "link")


def _param(fa: FileAudit, el: Element) -> None:
    if (el.attrs.get("name") or "").strip().lower() in PLUGIN_PARAMS and el.attrs.get("value"):
        fa.use_url(el.line, el.attrs["value"], f"<param name={el.attrs['name']}>", "frame")


def _style(fa: FileAudit, el: Element) -> None:
    fa.check_css(el.text(), el.line, "<style>")


TAG_RULES = {
    "script": _script, "form": _form, "base": _base, "meta": _meta, "link": _link_element,
    "svg": _top_foreign, "math": _top_foreign, "audio": _media, "video": _media, "param": _param,
    "style": _style, **{tag: _animation for tag in ANIMATION_TAGS},
}


# --- attributes -------------------------------------------------------------------------------------

def _src(fa: FileAudit, el: Element, name: str, value: str) -> None:
    if value.strip(" \t\n\r\f") == "" and name == "src":
        return  # an empty src fetches nothing
    how = "frame" if el.tag in FRAME_TAGS else "image" if el.tag in IMAGE_TAGS else "load"
    fa.use_url(el.line, value, f"<{el.tag} {name}>", how)


def _srcset(fa: FileAudit, el: Element, name: str, value: str) -> None:
    for url in srcset_urls(value):
        fa.use_url(el.line, url, f"<{el.tag} {name}>", "image")


def _href(fa: FileAudit, el: Element, name: str, value: str) -> None:
    if el.tag in ("link", "base"):
        return  # their element rules read href
    how = "link" if el.tag in LINK_TAGS else "image" if el.tag in IMAGE_TAGS else "load"
    fa.use_url(el.line, value, f"<{el.tag} {name}>", how)


def _anchor_name(fa: FileAudit, el: Element, name: str, value: str) -> None:
    if el.tag == "a":
        fa.ids.add(value)


def _url_list(fa: FileAudit, el: Element, name: str, value: str) -> None:
    how = "ping" if name == "ping" else "load"
    for url in split_urls(value):
        fa.use_url(el.line, url, f"<{el.tag} {name}>", how)


def _plugin(fa: FileAudit, el: Element, name: str, value: str) -> None:
    if el.tag in ("object", "applet", "embed") and not value.lower().startswith("clsid:"):
        for url in split_urls(value) if name == "archive" else [value]:
            fa.use_url(el.line, url, f"<{el.tag} {name}>", "frame")


def _object_data(fa: FileAudit, el: Element, name: str, value: str) -> None:
    if el.tag == "object":
        fa.use_url(el.line, value, "<object data>", "frame")


def _action(fa: FileAudit, el: Element, name: str, value: str) -> None:
    if name == "formaction":
        fa.add(el.line, "form", f"<{el.tag} formaction> submits a form")
    fa.use_url(el.line, value, f"<{el.tag} {name}>", "submit")


def _srcdoc(fa: FileAudit, el: Element, name: str, value: str) -> None:
    fa.add(el.line, "script", f"<{el.tag} srcdoc> embeds a document that can run script")


def _style_attr(fa: FileAudit, el: Element, name: str, value: str) -> None:
    fa.check_css(value, el.line, f"<{el.tag} {name}>", single_line=True)


def _presentation(fa: FileAudit, el: Element, name: str, value: str) -> None:
    if "(" in value or "\\" in value:
        fa.check_css(value, el.line, f"<{el.tag} {name}>", single_line=True)


def _image_attr(fa: FileAudit, el: Element, name: str, value: str) -> None:
    if value.strip():
        fa.use_url(el.line, value, f"<{el.tag} {name}>", "image")


ATTR_RULES = {
    "src": _src, "srcset": _srcset, "imagesrcset": _srcset, "href": _href, "xlink:href": _href,
    "name": _anchor_name, "ping": _url_list, "attributionsrc": _url_list, "manifest": _url_list,
    "icon": _url_list, "xml:base": _url_list, "data": _object_data, "action": _action, "formaction": _action,
    "srcdoc": _srcdoc, "style": _style_attr, "background": _image_attr, "lowsrc": _image_attr,
    "dynsrc": _image_attr, "poster": _image_attr,
    **{name: _plugin for name in PLUGIN_URL_ATTRS}, **{name: _presentation for name in PRESENTATION_ATTRS},
}
