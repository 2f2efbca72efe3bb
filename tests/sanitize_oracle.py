"""Two oracles for sanitized output, sharing no code with mirror/sanitize*.py.

``static_findings``: parse a built page with an HTML5 parser and list anything that could run script or
make a request outside the build folder. ``BrowserOracle``: a real Chromium with JavaScript ENABLED that
logs every request (and aborts those not under the build folder) and every script the main world parses.
"""

from __future__ import annotations

import re
from pathlib import Path

from selectolax.lexbor import LexborHTMLParser

LOAD_ATTRS = (
    "src",
    "srcset",
    "poster",
    "data",
    "codebase",
    "background",
    "action",
    "formaction",
    "manifest",
    "ping",
    "xlink:href",
    "lowsrc",
    "dynsrc",
    "longdesc",
    "archive",
    "classid",
    "cite",
    "profile",
    "usemap",
    "icon",
)
ACTIVE_TAGS = {
    "script",
    "iframe",
    "frame",
    "object",
    "embed",
    "applet",
    "form",
    "input",
    "button",
    "base",
    "svg",
    "link",
    "meta",
    "template",
    "portal",
    "noscript",
    "style",
}
CSS_URL = re.compile(r"url\(\s*['\"]?\s*([^'\")\s]*)|@import\s+['\"]([^'\"]*)", re.I)
SCHEME = re.compile(r"^\s*[a-z][a-z0-9+.-]*:", re.I)
PLAYWRIGHT_SW_BLOCK = "(() => {\n      \nif (self.ServiceWorkerContainer)"


def _remote(value: str) -> bool:
    value = "".join(value.split())
    return bool(SCHEME.match(value)) or value.startswith(("//", "\\", "/\\"))


def static_findings(html: str) -> list[str]:
    tree = LexborHTMLParser(html)
    found = []
    head = tree.head
    if not head or not head.css_first('meta[http-equiv="Content-Security-Policy"]'):
        found.append("no CSP meta")
    if not tree.css_first("meta[charset]"):
        found.append("no charset meta")
    for node in tree.root.traverse():
        tag, attrs = node.tag, node.attributes
        in_head_ok = tag in ("meta", "link", "style") and node.parent and node.parent.tag == "head"
        if tag in ACTIVE_TAGS and not in_head_ok:
            found.append(f"<{tag}>")
        for name, value in attrs.items():
            value = value or ""
            if name.startswith("on"):
                found.append(f"{tag}[{name}]")
            elif name in LOAD_ATTRS or (name == "href" and tag != "a"):
                parts = [p.strip().split(" ")[0] for p in value.split(",")] if name == "srcset" else [value]
                if tag == "link" and value == "data:,":  # the empty icon that spares a /favicon.ico request
                    continue
                if any(_remote(p) for p in parts if p):
                    found.append(f"{tag}[{name}]={value[:80]}")
            elif name == "href" and tag == "a":
                if SCHEME.match(value) and not re.match(r"^\s*(https?://|mailto:)", value, re.I):
                    found.append(f"a[href]={value[:80]}")
            elif name == "style":
                found.append(f"{tag}[style]")
        if tag == "meta" and (attrs.get("http-equiv") or "").lower() == "refresh":
            found.append("meta refresh")
    for style in tree.css("style"):
        for a, b in CSS_URL.findall(style.text()):
            if _remote(a or b) or "expression" in style.text().lower():
                found.append(f"css url {(a or b)[:80]}")
    return found


def css_findings(css: str) -> list[str]:
    return [f"css url {(a or b)[:80]}" for a, b in CSS_URL.findall(css) if _remote(a or b)]


class BrowserOracle:
    """One Chromium page (JavaScript on) reused for many loads; see ``load``."""

    def __init__(self, session, root: Path):
        self.session, self.root = session, root.resolve().as_uri() + "/"
        self.page = session.page
        self.parsed: list[str] = []
        self.cdp = self.page.context.new_cdp_session(self.page)
        self.cdp.on("Debugger.scriptParsed", self._script)
        self.cdp.send("Debugger.enable")
        self.page.route("**/*", self._route)

    def _script(self, event) -> None:
        if not event.get("executionContextAuxData", {}).get("isDefault"):
            return
        try:
            source = self.cdp.send("Debugger.getScriptSource", {"scriptId": event["scriptId"]})[
                "scriptSource"
            ]
        except Exception:  # noqa: BLE001 - a script gone before we asked still ran
            source = "?"
        if not source.startswith(PLAYWRIGHT_SW_BLOCK):
            self.parsed.append(f"{event.get('url')}: {source[:80]}")

    def _route(self, route) -> None:
        url = route.request.url
        if url.startswith(self.root):
            route.continue_()
        else:
            route.abort()

    def load(self, url: str) -> tuple[list[str], list[str], str]:
        """Open ``url``: (requests outside the build folder or refused by the CSP, scripts run, text)."""
        self.session.requests.clear()
        self.session.console.clear()
        self.parsed.clear()
        self.page.goto(url, wait_until="load")
        text = self.page.inner_text("body")  # in Playwright's isolated world: no script in the page's own
        outside = [u for u in self.session.requests if not u.startswith(self.root)]
        refused = [m for m in self.session.console if "Content Security Policy" in m]
        return outside + refused, list(self.parsed) + [f"dialog {d}" for d in self.session.dialogs], text


ORIGINAL_TEXT = """() => {
  for (const el of document.querySelectorAll('script, template')) el.remove();
  return document.body ? document.body.innerText : '';
}"""


def visible_words(text: str) -> list[str]:
    return re.findall(r"\w+", text.lower())
