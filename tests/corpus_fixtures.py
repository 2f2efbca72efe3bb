"""The shared corpora built once per test session, for every module that judges the sanitizer's output
(test_sanitize_corpus.py with Chromium and its own parse, test_sanitize_firefox.py with Firefox ESR)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mirror.site_import import build_from
from tests.conftest import need_shared


@pytest.fixture(scope="session")
def readability(tmp_path_factory):
    """The 130 real pages: ``(source, build dir, ImportReport)``."""
    source = need_shared("corpora/realpages/readability")
    out = tmp_path_factory.mktemp("readability") / "site"
    return source, out, build_from(source, out)


@pytest.fixture(scope="session")
def vectors(tmp_path_factory):
    """Every vector of corpora/xss and corpora/leaks as its own page (with its auxiliary file, if any)."""
    source = tmp_path_factory.mktemp("vectors-src")
    for name, body, attachment in _vectors():
        folder = source / name
        folder.mkdir()
        page = f"<!DOCTYPE html><html><head><title>{name}</title></head><body><p>before</p>{body}<p>after</p>"
        (folder / "index.html").write_text(page, encoding="utf-8")
        if attachment:
            (folder / attachment["name"]).write_text(attachment["raw"], encoding="utf-8")
    out = tmp_path_factory.mktemp("vectors") / "site"
    return out, build_from(source, out)


def _vectors():
    xss = need_shared("corpora/xss")
    h5sc = json.loads((xss / "h5sc_vectors.json").read_text())["vectors"]
    yield from ((f"h5sc-{v['id']:03d}", v["vector"], v.get("attachment")) for v in h5sc)
    owasp = json.loads((xss / "owasp_xss_filter_evasion.json").read_text())["items"]
    yield from ((f"owasp-{n:03d}", v["code"], None) for n, v in enumerate(owasp))
    bleach = json.loads((xss / "bleach_regression_vectors.json").read_text())["vectors"]
    yield from ((f"bleach-{n:02d}", v["input"], None) for n, v in enumerate(bleach))
    leaks = json.loads((need_shared("corpora/leaks") / "email_privacy_tester_tests.json").read_text())[
        "tests"
    ]
    yield from ((f"leak-{t['id']}", t["desc"].replace("TRACKING_URL", "canary.invalid"), None) for t in leaks)


def built_pages(out: Path) -> list[Path]:
    """The HTML pages of a build, in a stable order (its .mirror/ folder left out)."""
    return sorted(p for p in out.rglob("*.html") if ".mirror" not in p.parts)
