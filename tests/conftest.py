"""Shared fixtures: where the shared corpora are, and the rule for missing tools.

Under CI=true a missing corpus, program or browser is a failure, never a skip; on a user's fresh clone
without ../shared (or without tor/chromium) the test skips and says why.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def missing(reason: str):
    """Fail under CI, skip elsewhere."""
    if CI:
        pytest.fail(f"{reason} (required under CI=true)")
    pytest.skip(reason)


def need_shared(rel: str) -> Path:
    path = SHARED / rel
    if not path.exists():
        missing(f"{path} is absent: the shared corpora are not beside this clone")
    return path


def need_program(name: str) -> str:
    found = shutil.which(name) or next((p for p in (f"/usr/sbin/{name}", f"/usr/bin/{name}")
                                        if os.access(p, os.X_OK)), None)
    if not found:
        missing(f"{name} is not installed (tools/system-deps test installs it)")
    return found


@pytest.fixture(scope="session")
def seed_text() -> str:
    return need_shared("seed/000_ed127edc4fba9c96.txt").read_text(encoding="utf-8")


@pytest.fixture(scope="session")
def chromium_path() -> str:
    return need_program("chromium")


pytest_plugins = ["tests.tor_fixtures", "tests.corpus_fixtures"]
