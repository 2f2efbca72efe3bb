"""The shared corpora as pages: each leak construct and each XSS vector written as its own folder.

Used by the audit tests, the browser oracle and the throughput benchmark. Reads ../shared/corpora through
tests.conftest.need_shared (fails under CI, skips elsewhere); never copies the corpora into the repo.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from tests.conftest import need_shared

TRACKING_HOST = "tracker.example"  # TRACKING_URL, a remote host (the oracle never lets it leave loopback)
SNIPPET = re.compile(r"\n[ \t]*\n\s*(<.*?)(?:\n[ \t]*\n|\Z)", re.DOTALL)
MARKDOWN_ESCAPE = re.compile(r"\\([<>\[\]])")


@dataclass(frozen=True)
class Vector:
    """One corpus item as a page: ``page`` is the file name, ``files`` what the folder holds."""

    corpus: str
    id: str
    page: str
    files: dict = field(default_factory=dict)  # name -> text
    trigger: str | None = None  # H5SC's own script to provoke the vector (clicks, focus)

    def write(self, root: Path) -> Path:
        folder = root / self.id
        folder.mkdir(parents=True, exist_ok=True)
        for name, text in self.files.items():
            (folder / name).write_text(text, encoding="utf-8", errors="surrogatepass")
        return folder


def leak_vectors() -> list[Vector]:
    """The 39 email-privacy-tester constructs, TRACKING_URL pointing at a remote host."""
    data = json.loads(need_shared("corpora/leaks/email_privacy_tester_tests.json").read_text("utf-8"))
    vectors = []
    for test in data["tests"]:
        match = SNIPPET.search(test["desc"])
        snippet = match.group(1) if match else test["desc"]
        snippet = snippet.replace("TRACKING_URL", TRACKING_HOST).replace("ANY_OTHER_URL", "other.example")
        vectors.append(_page("leaks", f"leak-{test['id']}", snippet))
    return vectors


def xss_vectors() -> list[Vector]:
    """Every vector of the three XSS corpora, as a page (H5SC attachments beside it)."""
    root = need_shared("corpora/xss")
    h5sc = json.loads((root / "h5sc_vectors.json").read_text("utf-8"))
    owasp = json.loads((root / "owasp_xss_filter_evasion.json").read_text("utf-8"))
    bleach = json.loads((root / "bleach_regression_vectors.json").read_text("utf-8"))
    vectors = []
    for item in h5sc["vectors"]:
        attachment = item.get("attachment") or {}
        extra = {attachment["name"]: attachment["raw"]} if attachment.get("name") else {}
        vectors.append(_page("h5sc", f"h5sc-{item['id']}", item["vector"], extra, item.get("trigger")))
    for item in owasp["items"]:
        # The sheet's "\<" is a Markdown escape of "<", and its no-break spaces stand for spaces (as they
        # are, every such vector is one inert tag name).
        code = MARKDOWN_ESCAPE.sub(r"\1", item["code"]).replace("\xa0", " ")
        vectors.append(_page("owasp", f"owasp-{item['index']}", code))
    for n, item in enumerate(bleach["vectors"]):
        vectors.append(_page("bleach", f"bleach-{n}", item["input"]))
    return vectors


def _page(corpus: str, vector_id: str, markup: str, extra: dict | None = None,
          trigger: str | None = None) -> Vector:
    name = "index.xhtml" if markup.lstrip().startswith("<?xml") else "index.html"
    return Vector(corpus, vector_id, name, {name: markup, **(extra or {})}, trigger)


def readability_dir() -> Path:
    return need_shared("corpora/realpages/readability")
