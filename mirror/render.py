"""site/ -> documents: reads site.toml, the Markdown content files and the Jinja2 templates.

Owns: turning the trusted site source into HTML strings. Never writes files and never decides what is
safe (the audit does that on the written build).

A site is::

    site/site.toml              title, lang, template and the ordered list of sections
    site/content/<id>.md        one section: TOML front matter between +++ lines, then Markdown
    site/templates/page.html    the page (Jinja2, autoescape, StrictUndefined)
    site/templates/style.css    inlined into the page and allowed by its sha256 in the CSP
"""

from __future__ import annotations

import base64
import hashlib
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

import jinja2
from markdown_it import MarkdownIt
from mdit_py_plugins.attrs import attrs_block_plugin, attrs_plugin

from mirror.errors import SiteError

FRONT_MATTER = re.compile(r"\A\+\+\+\n(.*?)\n\+\+\+\n", re.S)
SECTION_ID = re.compile(r"^[a-z][a-z0-9-]*$")


@dataclass(frozen=True)
class Section:
    id: str
    title: str | None  # None: a section without a heading (a notice)
    html: str
    meta: dict


@dataclass(frozen=True)
class Document:
    path: str  # relative to the build directory, POSIX separators
    html: str
    csp: str


def render_site(site_dir: Path) -> list[Document]:
    """Render every document of the site at ``site_dir``."""
    config = load_config(site_dir)
    sections = [load_section(site_dir, section_id) for section_id in config["sections"]]
    env = template_env(site_dir)
    css = render_template(env, site_dir, "style.css", {})
    csp = content_security_policy(css)
    page = render_template(env, site_dir, config.get("template", "page.html"),
                           {"site": config, "sections": sections, "css": css, "csp": csp})
    return [Document("index.html", page, csp)]


def load_config(site_dir: Path) -> dict:
    path = site_dir / "site.toml"
    if not site_dir.is_dir():
        raise SiteError(site_dir, "is not a directory; point --site at a folder with a site.toml.")
    try:
        text = path.read_text(encoding="utf-8")
        config = tomllib.loads(text)
    except FileNotFoundError:
        raise SiteError(path, "is missing; a site needs a site.toml naming its sections.") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise SiteError(path, f"is not valid TOML ({e}).", line=_toml_line(e, text)) from e
    for key in ("title", "lang", "sections"):
        if key not in config:
            raise SiteError(path, f"has no '{key}' setting; add it.")
    if not isinstance(config["sections"], list) or not config["sections"]:
        raise SiteError(path, "'sections' must be a non-empty list of section ids.")
    return config


def load_section(site_dir: Path, section_id: str) -> Section:
    path = site_dir / "content" / f"{section_id}.md"
    if not isinstance(section_id, str) or not SECTION_ID.match(section_id):
        raise SiteError(site_dir / "site.toml", f"section id {section_id!r} must be lowercase letters, "
                        "digits and dashes.")
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SiteError(site_dir / "site.toml", f"names unknown section '{section_id}': "
                        f"there is no {path}. Create it or remove the name.") from None
    except UnicodeDecodeError as e:
        raise SiteError(path, f"is not UTF-8 text ({e.reason} at byte {e.start}).") from e
    meta, body = split_front_matter(path, text)
    title = meta.get("title")
    if title is not None and not isinstance(title, str):
        raise SiteError(path, "front matter 'title' must be a string.", line=2)
    return Section(section_id, title, markdown().render(body), meta)


def split_front_matter(path: Path, text: str) -> tuple[dict, str]:
    match = FRONT_MATTER.match(text)
    if not match:
        raise SiteError(path, "must start with TOML front matter between two '+++' lines.", line=1)
    try:
        meta = tomllib.loads(match.group(1))
    except tomllib.TOMLDecodeError as e:
        line = _toml_line(e, match.group(1))
        raise SiteError(path, f"front matter is not valid TOML ({e}).", line=line + 1 if line else None) from e
    return meta, text[match.end():]


def markdown() -> MarkdownIt:
    """CommonMark with raw HTML (the site is trusted; the audit checks the result) and {.class} attrs."""
    return MarkdownIt("commonmark", {"html": True, "xhtmlOut": False}).use(attrs_block_plugin).use(attrs_plugin)


def template_env(site_dir: Path) -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(site_dir / "templates"),
        autoescape=jinja2.select_autoescape(["html"]),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render_template(env: jinja2.Environment, site_dir: Path, name: str, context: dict) -> str:
    try:
        return env.get_template(name).render(**context)
    except jinja2.TemplateSyntaxError as e:
        raise SiteError(Path(e.filename or site_dir / "templates" / name), f"template syntax error: {e.message}.",
                        line=e.lineno) from e
    except jinja2.TemplateNotFound as e:
        raise SiteError(site_dir / "templates" / str(e.name), "template is missing.") from e
    except jinja2.UndefinedError as e:
        line = _template_line(e, name)
        raise SiteError(site_dir / "templates" / name, f"uses an undefined variable: {e.message}.",
                        line=line) from e


def content_security_policy(css: str) -> str:
    """The page's policy: nothing runs, nothing loads but the inline style (by its hash) and data: images.

    ``img-src data:`` lets ``<link rel=icon href="data:,">`` stand in for the favicon without a request and
    without a policy violation in the console; data: URLs never reach the network.
    """
    digest = base64.b64encode(hashlib.sha256(css.encode("utf-8")).digest()).decode("ascii")
    return f"default-src 'none'; style-src 'sha256-{digest}'; img-src data:; base-uri 'none'; form-action 'none'"


def _toml_line(e: Exception, text: str = "") -> int | None:
    """The line of a TOML error (Python 3.11's TOMLDecodeError only says it in the message)."""
    if "end of document" in str(e) and text:
        return text.count("\n") + 1
    return getattr(e, "lineno", None) or _first_int(re.search(r"line (\d+)", str(e)))


def _first_int(match: re.Match | None) -> int | None:
    return int(match.group(1)) if match else None


def _template_line(e: BaseException, name: str) -> int | None:
    tb = e.__traceback__
    line = None
    while tb is not None:
        if tb.tb_frame.f_code.co_filename.endswith(name):
            line = tb.tb_lineno
        tb = tb.tb_next
    return line
