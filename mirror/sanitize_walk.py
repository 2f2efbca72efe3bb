"""The HTML5 tree walk of one page: read its head, count what goes, rewrite every URL attribute.

Owns: the decisions that need the tree (lazy images, <base>, meta refresh, style="" to classes,
external-link marking). The allowlist itself is applied afterwards by nh3 (mirror/sanitize.py).
"""

from __future__ import annotations

import html
from collections import Counter
from urllib.parse import urljoin, urlsplit

from selectolax.lexbor import LexborHTMLParser

from mirror import links
from mirror.sanitize_rules import (
    DROP_WITH_CONTENT,
    EMPTY_URL,
    HEAD_LINK_KEEP,
    HEAD_LINK_KIND,
    LAZY_ATTRS,
    LOAD_ATTRS,
    META_KEEP,
    PLACEHOLDER,
    REMOVED_KIND,
    SPACED_UNWRAP,
)

_REFRESH_URL = "url="
_DROPPED = ", ".join(sorted(DROP_WITH_CONTENT - {"head", "title", "meta", "link", "base"}))
# The elements the walk looks at (found by lexbor in one pass): the rest is left to nh3's allowlist.
_WALKED = ", ".join(["[style]", "a[href]", *LOAD_ATTRS, *REMOVED_KIND, *SPACED_UNWRAP])


class PageWalk:
    def __init__(self, sanitizer, tree, url: str, out: str):
        self.s, self.tree, self.base, self.out = sanitizer, tree, url, out
        self.removed: Counter = Counter()
        self.warnings: set[str] = set()
        self.broken: set[str] = set()
        self.title, self.metas, self.head_links, self.css_parts = "", [], [], []
        self.html_attrs, self.body_attrs, self.redirects = [], [], []
        self.style_classes: dict[str, str] = {}
        self.frames: list[tuple[str, str, bool]] = []  # a frameset's frames: (href, label, external)
        self._later: list = []
        self._located: dict[str, links.Target] = {}
        self.approved: set[str] = set()  # every src/srcset/poster value the walk wrote

    def run(self) -> None:
        self.read_base()
        self.read_head()
        for node in self.tree.css(_WALKED) if self.tree.root else ():
            self.element(node)
        for action in self._later:
            action()
        for node in self.tree.css("noscript"):  # nh3 would read its content as text: unwrap it here
            node.unwrap()
        for node in self.tree.css(_DROPPED):  # gone before serializing: nothing left to re-parse differently
            node.decompose()
        root, body = self.tree.root, self.tree.body
        self.html_attrs = _pick(root, ("lang", "dir")) if root else []
        self.body_attrs = _pick(body, ("id", "class", "lang", "dir")) if body else []

    def locate(self, raw: str) -> links.Target:
        found = self._located.get(raw) or self.s.anywhere.get(raw)
        if found is None:
            found = links.locate(raw, self.base, self.out, self.s.site)
            if found.kind != "local" and raw.startswith(("https://", "http://")) and "\\" not in raw:
                self.s.anywhere[raw] = found  # an absolute URL that is no file: the same on every page
            self._located[raw] = found
        return found

    # -- head -------------------------------------------------------------------------------------
    def read_base(self) -> None:
        """Honour the first <base href> for resolving, then drop every <base>."""
        nodes = self.tree.css("base")
        self.removed["base"] += len(nodes)
        href = next((n.attributes["href"] for n in nodes if n.attributes.get("href")), None)
        if href:
            candidate = urljoin(self.base, links.normalize(href))
            if urlsplit(candidate).scheme in ("http", "https"):
                self.base = candidate

    def read_head(self) -> None:
        title = self.tree.css_first("title")
        self.title = " ".join(title.text().split()) if title else ""
        for node in self.tree.css("meta"):
            self.meta(node.attributes)
        for node in self.tree.css("link"):
            self.head_link(node.attributes)
        for node in self.tree.css("style"):
            css = self.s.css.stylesheet(node.text(), self.base, self.out, self.removed)
            media = node.attributes.get("media")
            if css:
                self.css_parts.append((media, css))
        if self.tree.scripts_contain("serviceWorker"):
            self.removed["service worker"] += 1

    def meta(self, attrs: dict) -> None:
        name = (attrs.get("name") or "").strip().lower()
        equiv = (attrs.get("http-equiv") or "").strip().lower()
        content = attrs.get("content") or ""
        if name in META_KEEP:
            self.metas.append((name, content))
        elif name == "generator":
            self.removed["generator tag"] += 1
        elif equiv == "refresh":
            self.removed["meta refresh"] += 1
            _, _, target = content.partition(";")
            target = target.strip()
            if target.lower().startswith(_REFRESH_URL):
                target = target[len(_REFRESH_URL) :].strip(" '\"")
                self.redirects.append(self.locate(target))

    def head_link(self, attrs: dict) -> None:
        rel = " ".join((attrs.get("rel") or "").lower().split())
        href = attrs.get("href")
        if rel in HEAD_LINK_KEEP and href:
            target = self.locate(href)
            if target.kind == "local":
                self.head_links.append(
                    (
                        "stylesheet" if rel == "stylesheet" else "icon",
                        target.url,
                        attrs.get("media") if rel == "stylesheet" else None,
                    )
                )
                return
            self.removed["remote stylesheet" if rel == "stylesheet" else "remote icon"] += 1
        elif rel:
            self.removed[
                next((kind for word, kind in HEAD_LINK_KIND.items() if word in rel.split()), "head link")
            ] += 1

    # -- body -------------------------------------------------------------------------------------
    def element(self, node) -> None:
        tag = node.tag
        kind = REMOVED_KIND.get(tag)
        if kind:
            self.removed[kind] += 1
        if tag in SPACED_UNWRAP:
            self._later.append(lambda: node.insert_after(" "))
        attrs = node.attributes
        if not attrs:
            return
        if "style" in attrs:
            self.style_attr(node, attrs["style"])
        if tag in ("iframe", "frame") and attrs.get("src"):
            self.embedded(node, tag, attrs)
        if tag == "a" and "href" in attrs:
            self.hyperlink(node, attrs["href"] or "")  # <a href> with no value: this page
        elif tag in LOAD_ATTRS:
            self.media(node, tag, attrs)

    def style_attr(self, node, value: str) -> None:
        css = self.s.css.declarations(value or "", self.base, self.out, self.removed, important=True)
        del node.attrs["style"]
        if css:
            name = self.style_classes.setdefault(css, f"mirror-s{len(self.style_classes) + 1}")
            node.attrs["class"] = f"{node.attributes.get('class') or ''} {name}".strip()

    def hyperlink(self, node, href: str) -> None:
        target = self.locate(href)
        if target.kind in ("local", "fragment"):
            node.attrs["href"] = target.url
            return
        if target.kind != "external":
            del node.attrs["href"]
            if target.kind == "broken":
                self.broken.add(target.url)
                self.removed["broken internal link (made text)"] += 1
            else:
                self.removed["javascript: url" if "script:" in href.lower() else "unsafe url"] += 1
            return
        mode = self.s.external_links
        if target.url != href:  # most external links stay as written
            node.attrs["href"] = target.url
        host = target.host.removeprefix("www.")
        if mode == "text":
            self.removed["external link (made text)"] += 1
            self._later.append(node.unwrap)
        elif mode == "mark" and host and host not in node.text():
            self._later.append(lambda: node.insert_child(f" ({host})"))

    def embedded(self, node, tag: str, attrs: dict) -> None:
        """An embedded page (which could load anything) becomes a link to it, so the reader still sees that
        it was there: in place for an <iframe>, listed at the top for a frameset's <frame>s."""
        target = self.locate(attrs["src"])
        external = target.kind == "external"
        if not (target.kind in ("local", "fragment") or (external and self.s.external_links != "text")):
            return
        label = " ".join((attrs.get("title") or attrs.get("name") or "").split())
        if external:
            label = label or target.url
            host = target.host.removeprefix("www.")
            label += f" ({host})" if self.s.external_links == "mark" and host and host not in label else ""
        label = label or target.url
        self.removed["embedded page (made a link)"] += 1
        if tag == "frame":
            self.frames.append((target.url, label, external))
            return
        link = LexborHTMLParser(f"<span class=mirror-embed>[embedded page: {_link(target.url, label, external)}]"
                                "</span>").body.child
        self._later.append(lambda: node.insert_before(link))

    def media(self, node, tag: str, attrs: dict) -> None:
        if tag in ("img", "source"):
            self.promote(node, attrs)
        for name in LOAD_ATTRS[tag]:
            value = node.attributes.get(name)
            if value is None:
                continue
            new = self.srcset(value) if name == "srcset" else self.load(value)
            if new:
                node.attrs[name] = new
                self.approved.add(new)
            else:
                del node.attrs[name]
        kept = node.attributes
        if tag == "img" and not kept.get("src") and not kept.get("srcset"):
            self._later.append(node.decompose)
        elif tag in ("video", "audio") and not kept.get("src") and not node.css_first("source[src]"):
            self._later.append(node.decompose)

    def promote(self, node, attrs: dict) -> None:
        for name, lazy_names in LAZY_ATTRS.items():
            real = attrs.get(name)
            if real and not PLACEHOLDER.search(real):
                continue
            lazy = next((attrs[lazy] for lazy in lazy_names if attrs.get(lazy)), None)
            if lazy:
                node.attrs[name] = lazy
                self.removed["lazy image (promoted)"] += 1

    def load(self, value: str) -> str | None:
        if not links.normalize(value):  # src="" would fetch the page itself as an image: a request for nothing
            self.removed[EMPTY_URL] += 1
            return None
        target = self.locate(value)
        if target.kind == "local":
            if target.url.lower().endswith(".svg"):
                self.warnings.add(
                    f"SVG image {urljoin(self.base, links.normalize(value))} does not show at "
                    "Tor Browser's Safest level"
                )
            return target.url
        if target.kind == "broken":
            self.broken.add(target.url)
        kind = {"broken": "missing local image", "unsafe": "data: or unsafe image"}.get(target.kind)
        self.removed[kind or ("tracker" if links.is_tracker(value) else "remote image")] += 1
        return None

    def srcset(self, value: str) -> str:
        kept = []
        for url, descriptor in links.split_srcset(value):
            local = self.load(url)
            if local:
                kept.append(f"{local} {descriptor}".strip())
        return ", ".join(kept)

    # -- output -----------------------------------------------------------------------------------
    def body_html(self) -> str:
        body = self.tree.body
        return body.html if body is not None else ""

    def stylesheets(self) -> list[tuple[str | None, str]]:
        """(media, css) per <style> block, kept apart as in the page (a block's syntax errors stay in it);
        the classes made from style="" come last, as inline styles win."""
        rules = "\n".join(f".{name}{{{css}}}" for css, name in self.style_classes.items())
        return self.css_parts + ([(None, rules)] if rules else [])

    def preface(self) -> str:
        """A redirect page becomes a visible local link; a frameset page, a list of its frames."""
        out = []
        if self.frames:
            items = "".join(f"<li>{_link(href, label, external)}</li>" for href, label, external in self.frames)
            out.append(f'<ul class="mirror-frames">{items}</ul>\n')
        for target in self.redirects:
            if target.kind in ("local", "fragment") or (
                target.kind == "external" and self.s.external_links != "text"
            ):
                href = html.escape(target.url, quote=True)
                rel = "" if target.kind != "external" else ' rel="noopener noreferrer"'
                out.append(
                    f'<p class="mirror-redirect">This page moved to <a href="{href}"{rel}>'
                    f"{html.escape(target.url, quote=False)}</a>.</p>\n"
                )
        return "".join(out)


def _link(href: str, label: str, external: bool) -> str:
    rel = ' rel="noopener noreferrer"' if external else ""
    return f'<a href="{html.escape(href, quote=True)}"{rel}>{html.escape(label, quote=False)}</a>'


def _pick(node, names) -> list[tuple[str, str]]:
    attrs = node.attributes
    return [(name, attrs[name]) for name in names if attrs.get(name)]
