"""Building site/: deterministic bytes, atomic swap, clear errors for a broken site and no traceback."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from mirror import build
from mirror.cli import main
from mirror.errors import BuildError, SiteError
from tests.conftest import ROOT


@pytest.fixture
def site(tmp_path) -> Path:
    copy = tmp_path / "site"
    shutil.copytree(ROOT / "site", copy)
    return copy


def tree_bytes(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_two_builds_are_byte_identical(site, tmp_path):
    build.build_site(site, tmp_path / "a")
    build.build_site(site, tmp_path / "b")
    assert tree_bytes(tmp_path / "a") == tree_bytes(tmp_path / "b")


def test_two_builds_in_separate_processes_with_other_env_are_identical(tmp_path):
    outs = []
    for n, env in enumerate(({"TZ": "UTC", "LANG": "C.UTF-8"}, {"TZ": "Asia/Tokyo", "LANG": "C.UTF-8"})):
        out = tmp_path / f"out{n}"
        subprocess.run([sys.executable, "-m", "mirror", "build", "--site", str(ROOT / "site"), "-o", str(out)],
                       check=True, env={**env, "PATH": "/usr/bin:/bin"}, capture_output=True, cwd=tmp_path)
        outs.append(tree_bytes(out))
    assert outs[0] == outs[1] and "index.html" in outs[0]


def test_manifest_lists_every_file_with_hash_type_and_policy(site, tmp_path):
    out = tmp_path / "out"
    build.build_site(site, out)
    manifest = json.loads((out / ".mirror" / "manifest.json").read_text())
    entry = manifest["files"]["index.html"]
    import hashlib
    assert entry["sha256"] == hashlib.sha256((out / "index.html").read_bytes()).hexdigest()
    assert entry["type"] == "text/html; charset=utf-8"
    assert entry["csp"].startswith("default-src 'none'")
    import brotli
    assert brotli.decompress((out / ".mirror/br/index.html.br").read_bytes()) == (out / "index.html").read_bytes()


def _break(site: Path, how: str) -> str:
    """Break a copy of the site; return the file name the error must name."""
    if how == "undefined variable":
        page = site / "templates" / "page.html"
        page.write_text(page.read_text().replace("{{ site.title }}", "{{ site.no_such_thing }}"))
        return "page.html"
    if how == "unknown section":
        config = site / "site.toml"
        config.write_text(config.read_text().replace('"questions",', '"questions", "no-such-section",'))
        return "site.toml"
    if how == "malformed front matter":
        (site / "content" / "security.md").write_text('+++\ntitle = "unterminated\n+++\nText\n')
        return "security.md:2"
    if how == "no front matter":
        (site / "content" / "help.md").write_text("Just text without front matter\n")
        return "help.md:1"
    if how == "template syntax":
        page = site / "templates" / "page.html"
        page.write_text(page.read_text().replace("{% endfor %}", "{% endfor"))
        return "page.html"
    if how == "malformed site.toml":
        (site / "site.toml").write_text('title = "x"\nlang = \n')
        return "site.toml:2"
    raise AssertionError(how)


BREAKS = ["undefined variable", "unknown section", "malformed front matter", "no front matter",
          "template syntax", "malformed site.toml"]


@pytest.mark.parametrize("how", BREAKS)
def test_broken_site_names_the_file_and_keeps_the_previous_build(site, tmp_path, how):
    out = tmp_path / "out"
    build.build_site(site, out)
    before = tree_bytes(out)
    where = _break(site, how)
    with pytest.raises(SiteError) as caught:
        build.build_site(site, out)
    assert where in str(caught.value.message)
    assert tree_bytes(out) == before, "a failed build must leave the previous one untouched"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".out")] == [], "no temporary left over"


@pytest.mark.parametrize("how", ["undefined variable", "unknown section", "malformed front matter"])
def test_cli_prints_one_clear_error_without_traceback(site, tmp_path, how):
    where = _break(site, how)
    result = CliRunner().invoke(main, ["build", "--site", str(site), "-o", str(tmp_path / "out")])
    assert result.exit_code == 1
    assert result.output.startswith("Error: ") and where in result.output
    assert "Traceback" not in result.output
    assert not isinstance(result.exception, Exception) or isinstance(result.exception, SystemExit)


def test_missing_site_directory_is_a_clear_error(tmp_path):
    result = CliRunner().invoke(main, ["build", "--site", str(tmp_path / "nope"), "-o", str(tmp_path / "o")])
    assert result.exit_code == 1 and "is not a directory" in result.output


def test_output_path_that_is_a_file_is_refused_and_kept(site, tmp_path):
    out = tmp_path / "out"
    out.write_text("keep me")
    with pytest.raises(BuildError, match="not a directory"):
        build.build_site(site, out)
    assert out.read_text() == "keep me"


def test_python_dash_m_mirror_builds(tmp_path):
    out = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "mirror", "build", "--site", str(ROOT / "site"), "-o", str(out)],
                   check=True, capture_output=True)
    assert (out / "index.html").stat().st_size > 20_000
