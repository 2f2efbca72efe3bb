"""mirror zip / mirror verify: reproducible bytes, a signature others can check, and a checker that refuses
every tampered or unsafe archive and writes nothing until all passed.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import warnings
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from mirror import archive, audit, build, keys, pack, render, verify
from mirror.cli import main
from mirror.errors import AuditFailed, KeyFileError, PackError
from tests.conftest import ROOT, need_program, need_shared
from tests.test_keys import tor_hostname

PAGE_CSP = "default-src 'none'; base-uri 'none'; form-action 'none'"
HEAD = ('<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{PAGE_CSP}">'
        '<meta name="referrer" content="no-referrer"><link rel="icon" href="data:,">'
        '<title>{t}</title></head><body>')
PAGES = {
    "index.html": '<h1 id="top">Home</h1><a href="about.html">About</a> <a href="docs/guide.html">Guide</a>'
                  ' <a href="docs/caf\u00e9.html">Caf\u00e9</a> <a href="seed.html">Seed</a>'
                  ' <a href="#top">Top</a>',
    "about.html": '<h1 id="team">About</h1><a href="index.html">Home</a>'
                  ' <a href="docs/guide.html#part">Guide</a>',
    "docs/guide.html": '<h1 id="part">Guide</h1><a href="../index.html">Home</a>'
                       ' <a href="../about.html#team">Team</a>',
    "docs/caf\u00e9.html": '<h1>Caf\u00e9</h1><a href="guide.html">Guide</a>'
                           ' <a href="../index.html">Home</a>',
}


def site_files() -> dict[str, bytes]:
    files = {name: (HEAD.format(t=name) + body + "</body></html>\n").encode() for name, body in PAGES.items()}
    files["seed.html"] = render.render_site(ROOT / "site")[0].html.encode()
    return files


def site_csp() -> dict[str, str]:
    return {**dict.fromkeys(PAGES, PAGE_CSP), "seed.html": render.render_site(ROOT / "site")[0].csp}


@pytest.fixture(scope="module")
def key_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("key") / "hs_ed25519_secret_key"
    return keys.write_secret_key(path, keys.generate_secret_key())


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("build") / "site"
    build.write_build(out, site_files(), site_csp())
    return out


@pytest.fixture(scope="module")
def good_zip(built, key_file, tmp_path_factory) -> Path:
    return pack.pack(built, tmp_path_factory.mktemp("zip") / "site.zip", key_file).out


@pytest.fixture(autouse=True)
def private_data_home(tmp_path, monkeypatch):
    """Never let a test make a key in the real ~/.local/share."""
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))


def entries(path: Path) -> list[tuple[zipfile.ZipInfo, bytes]]:
    with zipfile.ZipFile(path) as zf:
        return [(info, zf.read(info)) for info in zf.infolist()]


def write_zip(path: Path, members: list[tuple[zipfile.ZipInfo | str, bytes]]) -> Path:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zipfile warns about the duplicates some tests want
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
            for info, data in members:
                zf.writestr(info, data)
    return path


def signed_zip(path: Path, members: list[tuple[zipfile.ZipInfo | str, bytes]], expanded: bytes) -> Path:
    """A zip whose SHA256SUMS and signature are valid for ``members``: only the entries can be at fault."""
    digests = {getattr(info, "filename", info): hashlib.sha256(data).hexdigest() for info, data in members}
    sums = archive.format_sums(digests)
    signature = archive.format_signature(keys.onion_address(keys.public_key(expanded)),
                                         keys.sign(expanded, archive.SIGNED_PREFIX + sums))
    return write_zip(path, members + [(archive.SUMS, sums), (archive.SIGNATURE, signature)])


def tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


# --- reproducible, complete archives ---------------------------------------------------------------------

def build_and_zip(tmp_path: Path, name: str, key: Path, tz: str, umask: int, mtime: int) -> bytes:
    out, archive_path = tmp_path / name / "site", tmp_path / f"{name}.zip"
    script = ("import sys, pathlib; from mirror import build; from tests import test_pack as t;"
              " build.write_build(pathlib.Path(sys.argv[1]), t.site_files(), t.site_csp())")
    env = {"PATH": "/usr/bin:/bin", "TZ": tz, "LANG": "C.UTF-8", "XDG_DATA_HOME": str(tmp_path / "xdg"),
           "HOME": str(tmp_path)}
    with_umask = ["sh", "-c", f'umask {umask:03o} && exec "$@"', "sh", sys.executable]
    subprocess.run([*with_umask, "-c", script, str(out)], check=True, env=env, cwd=ROOT, capture_output=True)
    for path in out.rglob("*"):
        os.utime(path, (mtime, mtime))
    subprocess.run([*with_umask, "-m", "mirror", "zip", str(out), "-o", str(archive_path), "--key", str(key)],
                   check=True, env=env, cwd=tmp_path, capture_output=True)
    return archive_path.read_bytes()


def test_two_builds_two_zips_identical_bytes_across_time_zone_umask_and_mtime(tmp_path, key_file):
    first = build_and_zip(tmp_path, "a", key_file, "UTC", 0o022, 1_000_000_000)
    second = build_and_zip(tmp_path, "b", key_file, "Pacific/Kiritimati", 0o077, 1_700_000_000)
    assert first == second


def test_zipping_the_unzipped_copy_again_gives_the_same_bytes(good_zip, key_file, tmp_path):
    assert verify.verify(good_zip, extract=tmp_path / "copy").ok
    again = pack.pack(tmp_path / "copy", tmp_path / "again.zip", key_file)
    assert again.out.read_bytes() == good_zip.read_bytes()


def test_entries_carry_no_time_owner_mode_extra_field_or_secret(good_zip, key_file):
    infos = [info for info, _ in entries(good_zip)]
    assert [i.filename for i in infos[:-2]] == sorted((i.filename for i in infos[:-2]), key=str.encode)
    for info in infos:
        assert info.date_time == (1980, 1, 1, 0, 0, 0)
        assert info.extra == b"" and info.comment == b""
        assert info.external_attr >> 16 == 0o100644 and info.create_system == 3
        assert info.flag_bits == 0x800  # UTF-8 names, nothing else (no data descriptor, no encryption)
    data = good_zip.read_bytes()
    secret = keys.read_secret_key(key_file)
    assert not any(secret[:32] in blob or keys.tor_key_blob(secret).encode() in blob
                   for blob in [data] + [content for _, content in entries(good_zip)])
    for leak in {os.uname().nodename, os.environ.get("USER", ""), str(good_zip.parent)}:
        if len(leak) >= 6:
            assert leak.encode() not in data


def test_zip_ships_every_file_but_no_precompressed_variant_and_sha256sum_checks_it(good_zip, built, tmp_path):
    names = {info.filename for info, _ in entries(good_zip)}
    assert any((built / ".mirror" / "br").rglob("*.br"))  # the build has variants ...
    assert not any(n.startswith((".mirror/gz/", ".mirror/br/")) for n in names)  # ... the zip does not
    shipped = {rel for rel in tree(built) if archive.shipped(rel)}
    assert names == shipped | set(archive.METADATA)
    report = verify.verify(good_zip, extract=tmp_path / "x")
    assert report.ok, report.problems
    assert {k: v for k, v in tree(tmp_path / "x").items() if k not in archive.METADATA} == \
        {k: v for k, v in tree(built).items() if k in shipped}
    audit.require_pass(tmp_path / "x")  # the unzipped copy is still a mirror the audit passes
    if shutil.which("sha256sum"):  # coreutils checks the extracted copy on its own
        check_sums = ["sha256sum", "--quiet", "--strict", "-c", archive.SUMS]
        subprocess.run(check_sums, cwd=tmp_path / "x", check=True)


def test_empty_and_incompressible_files_are_stored_and_verify(tmp_path):
    root = tmp_path / "b"
    root.mkdir()
    (root / "empty.txt").write_bytes(b"")
    (root / "noise.bin").write_bytes(os.urandom(5000))
    (root / "text.html").write_bytes(b"<p>compressible</p>" * 100)
    archive_path = tmp_path / "x.zip"
    pack.write_archive(pack.collect(root), archive_path, keys.generate_secret_key())
    methods = {info.filename: info.compress_type for info, _ in entries(archive_path)}
    assert methods["empty.txt"] == methods["noise.bin"] == zipfile.ZIP_STORED
    assert methods["text.html"] == zipfile.ZIP_DEFLATED
    report = verify.verify(archive_path, extract=tmp_path / "out")
    assert report.ok, report.problems
    unpacked = tree(tmp_path / "out")
    assert {name: unpacked[name] for name in unpacked if name not in archive.METADATA} == tree(root)


def test_info_zip_unzip_accepts_the_archive(good_zip):
    unzip = need_program("unzip")
    result = subprocess.run([unzip, "-t", str(good_zip)], check=False, capture_output=True, text=True)
    assert result.returncode == 0 and "No errors detected" in result.stdout, result.stdout


def test_without_key_makes_a_private_key_outside_the_build_once_and_reuses_it(built, tmp_path):
    first = pack.pack(built, tmp_path / "1.zip")
    assert first.key_created and first.key_path == tmp_path / "xdg" / "mirror" / "signing_key"
    assert first.key_path.stat().st_mode & 0o777 == 0o600
    assert first.key_path.parent.stat().st_mode & 0o077 == 0
    second = pack.pack(built, tmp_path / "2.zip")
    assert not second.key_created and second.signer == first.signer
    assert (tmp_path / "1.zip").read_bytes() == (tmp_path / "2.zip").read_bytes()


def test_cli_zip_says_where_it_made_the_key_and_who_signed(built, tmp_path):
    result = CliRunner().invoke(main, ["zip", str(built), "-o", str(tmp_path / "s.zip")])
    assert result.exit_code == 0, result.output
    assert f"Made a new signing key at {tmp_path / 'xdg' / 'mirror' / 'signing_key'}" in result.output
    assert ".onion" in result.output


def test_zip_refuses_a_key_or_an_output_inside_the_build(built, tmp_path):
    with pytest.raises(KeyFileError, match="inside the build directory"):
        pack.pack(built, tmp_path / "s.zip", built / "key")
    with pytest.raises(PackError, match="inside the build directory"):
        pack.pack(built, built / "s.zip", None)
    assert not (built / "s.zip").exists()


def test_zip_refuses_a_build_the_audit_fails(built, tmp_path, monkeypatch):
    def failing_gate(root):
        raise AuditFailed(f"{root} failed the audit.")
    monkeypatch.setattr(build, "gate", failing_gate)
    with pytest.raises(AuditFailed):
        pack.pack(built, tmp_path / "s.zip", None)
    assert not (tmp_path / "s.zip").exists() and not (tmp_path / "xdg").exists()


def test_zip_refuses_a_page_with_a_tracker_script_when_the_audit_exists(tmp_path):
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "index.html").write_text(HEAD.format(t="x") + '<script src="https://tracker.example/t.js"></script>')
    with pytest.raises(AuditFailed):
        pack.pack(bad, tmp_path / "bad.zip", None)
    assert not (tmp_path / "bad.zip").exists()


@pytest.mark.parametrize("name", ["CON.html", "a:b.html", "trail.", "back\\slash.html", b"latin1-\xe9.html"])
def test_zip_refuses_a_file_name_that_cannot_be_unpacked_everywhere(tmp_path, name):
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / os.fsdecode(name)).write_text("x")
    with pytest.raises(PackError, match="rename it"):
        pack.collect(tmp_path / "b")


def test_zip_refuses_symlinks_and_case_collisions(tmp_path):
    root = tmp_path / "b"
    root.mkdir()
    (root / "a.html").write_text("a")
    (root / "link.html").symlink_to(root / "a.html")
    with pytest.raises(PackError, match="symlink"):
        pack.collect(root)
    (root / "link.html").unlink()
    (root / "A.html").write_text("A")
    with pytest.raises(PackError, match="differ only in case"):
        pack.collect(root)


def test_zip_of_a_missing_folder_is_a_clear_error(tmp_path):
    result = CliRunner().invoke(main, ["zip", str(tmp_path / "nope")])
    assert result.exit_code == 1 and "is not a directory" in result.output
    assert "Traceback" not in result.output


# --- the signature: tor's key, an independent verifier, a real tor's address -------------------------------

@pytest.mark.tor
def test_signature_made_with_a_tor_key_verifies_independently_and_names_tors_address(built, tmp_path):
    hs_dir = tmp_path / "hs"
    hs_dir.mkdir(mode=0o700)
    secret = keys.write_secret_key(hs_dir / keys.SECRET_FILE, keys.generate_secret_key())
    result = pack.pack(built, tmp_path / "s.zip", hs_dir)  # the HiddenServiceDir stands for its key file
    assert result.key_path == secret and result.sha256 == hashlib.sha256(result.out.read_bytes()).hexdigest()
    with zipfile.ZipFile(result.out) as zf:
        sums, signature_file = zf.read(archive.SUMS), zf.read(archive.SIGNATURE)
    address, signature = archive.parse_signature(signature_file)
    oracle = Ed25519PublicKey.from_public_bytes(keys.public_key_from_address(address))
    oracle.verify(signature, archive.SIGNED_PREFIX + sums)  # OpenSSL's ed25519, not libsodium
    tor_address = tor_hostname(tmp_path, hs_dir)
    assert address == result.signer == tor_address
    report = verify.verify(result.out, onion=tor_address)
    assert report.ok and report.signer == tor_address


def test_verify_names_the_signer_and_checks_onion(good_zip, key_file):
    own = keys.onion_address(keys.public_key(keys.read_secret_key(key_file)))
    assert verify.verify(good_zip, onion=own).signer == own
    other = keys.onion_address(keys.public_key(keys.generate_secret_key()))
    report = verify.verify(good_zip, onion=other)
    assert report.problems == [f"signed by {own}, not by {other} as --onion expects."]
    assert "not a valid v3 onion address" in verify.verify(good_zip, onion="example.onion").problems[0]


# --- tampering ----------------------------------------------------------------------------------------------

def flip_member(name: str):
    def change(members):
        return [(info, data[:len(data) // 2] + bytes([data[len(data) // 2] ^ 1]) + data[len(data) // 2 + 1:]
                 if info.filename == name else data) for info, data in members]
    return change


MEMBERS = sorted(site_files()) + [".mirror/manifest.json", archive.SUMS, archive.SIGNATURE]


@pytest.mark.parametrize("name", MEMBERS)
def test_flipping_one_byte_of_any_member_fails_verify(good_zip, tmp_path, name):
    bad = write_zip(tmp_path / "bad.zip", flip_member(name)(entries(good_zip)))
    report = verify.verify(bad, extract=tmp_path / "x")
    assert not report.ok and not (tmp_path / "x").exists()


def test_adding_a_member_fails_verify(good_zip, tmp_path):
    bad = write_zip(tmp_path / "bad.zip", entries(good_zip) + [("extra.html", b"<p>added</p>")])
    assert verify.verify(bad).problems == [
        f"entry 'extra.html' is not listed in {archive.SUMS}: it was added after signing."]


def test_removing_a_member_fails_verify(good_zip, tmp_path):
    bad = write_zip(tmp_path / "bad.zip", [m for m in entries(good_zip) if m[0].filename != "about.html"])
    missing = f"'about.html' is listed in {archive.SUMS} but missing from the archive."
    assert verify.verify(bad).problems == [missing]


def test_altered_file_with_recomputed_sums_fails_the_signature(good_zip, tmp_path):
    members = flip_member("index.html")(entries(good_zip))
    digests = {info.filename: hashlib.sha256(data).hexdigest() for info, data in members
               if info.filename not in archive.METADATA}
    members = [(i, archive.format_sums(digests) if i.filename == archive.SUMS else d) for i, d in members]
    problems = verify.verify(write_zip(tmp_path / "bad.zip", members)).problems
    assert len(problems) == 1 and "changed after it was signed" in problems[0], problems


def test_swapping_the_signature_fails_verify(good_zip, built, tmp_path, key_file):
    other_build = tmp_path / "other"
    other_index = HEAD.format(t="other").encode() + b"<p>another build</p></body></html>\n"
    build.write_build(other_build, {**site_files(), "index.html": other_index}, site_csp())
    other_zip = pack.pack(other_build, tmp_path / "other.zip", key_file).out
    foreign = {i.filename: d for i, d in entries(other_zip)}[archive.SIGNATURE]
    swapped = [(i, foreign if i.filename == archive.SIGNATURE else d) for i, d in entries(good_zip)]
    assert not verify.verify(write_zip(tmp_path / "swap.zip", swapped)).ok


def test_resigning_with_another_key_is_named_and_fails_onion(good_zip, tmp_path, key_file):
    thief = keys.generate_secret_key()
    members = [(i, d) for i, d in entries(good_zip) if i.filename not in archive.METADATA]
    resigned = signed_zip(tmp_path / "resigned.zip", members, thief)
    report = verify.verify(resigned)
    assert report.ok and report.signer == keys.onion_address(keys.public_key(thief))
    owner = keys.onion_address(keys.public_key(keys.read_secret_key(key_file)))
    assert not verify.verify(resigned, onion=owner).ok


def test_signer_must_be_a_bare_address_and_names_never_reach_the_terminal_raw(good_zip, tmp_path):
    members = entries(good_zip)
    address, signature = archive.parse_signature({i.filename: d for i, d in members}[archive.SIGNATURE])
    disguised = archive.format_signature("\x1b[2J.trusted." + address, signature)
    bad = write_zip(tmp_path / "bad.zip", [(i, disguised if i.filename == archive.SIGNATURE else d)
                                           for i, d in members] + [("\x1b]0;title\x07.html", b"x")])
    result = CliRunner().invoke(main, ["verify", str(bad)])
    assert result.exit_code == 1 and "\x1b" not in result.output and "bare onion address" in result.output


def test_cli_verify_prints_one_line_per_problem_and_exits_1(good_zip, tmp_path):
    members = [m for m in flip_member("about.html")(entries(good_zip)) if m[0].filename != "seed.html"]
    bad = write_zip(tmp_path / "bad.zip", members + [("new.html", b"x")])
    result = CliRunner().invoke(main, ["verify", str(bad)])
    lines = result.output.splitlines()
    assert result.exit_code == 1 and len(lines) == 3, result.output
    assert all(line.startswith(f"{bad}: ") for line in lines)
    assert any("seed.html" in line and "missing" in line for line in lines)
    assert any("new.html" in line for line in lines) and any("about.html" in line for line in lines)
    ok = CliRunner().invoke(main, ["verify", str(good_zip)])
    assert ok.exit_code == 0 and "OK" in ok.output and ".onion" in ok.output


@pytest.mark.parametrize("content", [b"", b"not a zip", b"PK\x05\x06" + bytes(18)])
def test_verify_of_something_that_is_not_a_mirror_zip_is_one_clear_line(tmp_path, content):
    path = tmp_path / "x.zip"
    path.write_bytes(content)
    result = CliRunner().invoke(main, ["verify", str(path)])
    assert result.exit_code == 1 and "Traceback" not in result.output and result.output.strip(), result.output


# --- unsafe archives ----------------------------------------------------------------------------------------

@pytest.mark.corpus
def test_every_zipslip_corpus_archive_is_refused_and_writes_nothing_outside(tmp_path):
    corpus = need_shared("corpora/zipslip")
    evil = [Path("/tmp/evil.txt"), Path("/Temp/evil.txt")]
    before = {p: p.exists() for p in evil}
    archives = sorted(corpus.iterdir())
    assert len(archives) >= 4
    for path in archives:
        target = tmp_path / "work" / "target"
        report = verify.verify(path, extract=target)
        assert not report.ok, path
        if path.suffix == ".zip":
            assert any("'..'" in problem or "backslash" in problem for problem in report.problems)
        result = CliRunner().invoke(main, ["verify", str(path), "--extract", str(target)])
        assert result.exit_code == 1 and "Traceback" not in result.output
    assert list(tmp_path.rglob("*")) == []  # not even the target's parent was created
    assert {p: p.exists() for p in evil} == before


def special(name: str, mode: int = 0o100644, method: int = zipfile.ZIP_DEFLATED):
    info = zipfile.ZipInfo(name)
    info.create_system, info.external_attr, info.compress_type = 3, mode << 16, method
    return info


UNSAFE = {  # case: (entries added to a valid, signed archive, what the problem line must say)
    "absolute": ([("/etc/cron.d/evil", b"x")], "absolute"),
    "dotdot": ([("../evil.html", b"x")], "'..'"),
    "inner dotdot": ([("docs/../../evil.html", b"x")], "'..'"),
    "backslash": ([("..\\evil.html", b"x")], "backslash"),
    "drive letter": ([("C:/evil.html", b"x")], "drive letter"),
    "drive relative": ([("c:evil.html", b"x")], "drive letter"),
    "device": ([("CON", b"x")], "device name"),
    "device with extension": ([("docs/aux.html", b"x")], "device name"),
    "superscript device": ([("COM\u00b9.txt", b"x")], "device name"),
    "trailing dot": ([("evil.html.", b"x")], "dot or space"),
    "alternate data stream": ([("index.html:stream", b"x")], "Windows forbids"),
    "empty component": ([("docs//evil.html", b"x")], "empty"),
    "symlink": ([(special("passwd.html", 0o120777), b"/etc/passwd")], "symbolic link"),
    "fifo": ([(special("pipe.html", 0o010644), b"")], "device, pipe or socket"),
    "lzma": ([(special("odd.html", method=zipfile.ZIP_LZMA), b"x")], "compression method 14"),
    "duplicate": ([("dup.html", b"one"), ("dup.html", b"two")], "appears twice"),
    "case collision": ([("Readme.html", b"one"), ("README.html", b"two")], "differ only in case"),
    "unicode collision": ([("caf\u00e9.html", b"one"), ("cafe\u0301.html", b"two")], "Unicode form"),
    "file where a folder is needed": ([("docs/page.html", b"page"), ("docs", b"file")], "need a folder"),
}


@pytest.mark.parametrize("case", sorted(UNSAFE))
def test_signed_archive_with_an_unsafe_entry_is_refused_and_nothing_extracted(tmp_path, case):
    added, says = UNSAFE[case]
    members = [("index.html", b"<p>ok</p>"), *added]
    (tmp_path / "a").mkdir()
    path = signed_zip(tmp_path / "a" / "unsafe.zip", members, keys.generate_secret_key())
    report = verify.verify(path, extract=tmp_path / "a" / "out")
    bad_name = getattr(members[-1][0], "filename", members[-1][0])
    assert any(repr(bad_name) in problem and says in problem for problem in report.problems), report.problems
    assert sorted(p.name for p in (tmp_path / "a").iterdir()) == ["unsafe.zip"]


def test_entry_flagged_encrypted_is_refused(tmp_path):
    path = signed_zip(tmp_path / "e.zip", [("index.html", b"<p>ok</p>")], keys.generate_secret_key())
    data = bytearray(path.read_bytes())
    central = data.index(b"PK\x01\x02")  # index.html's central record comes first
    data[central + 8] |= 0x1
    path.write_bytes(data)
    assert any("'index.html' is encrypted" in problem for problem in verify.verify(path).problems)


def test_overlapping_entries_are_refused(tmp_path):
    path = tmp_path / "overlap.zip"
    with open(path, "wb") as f:
        writer = pack.ZipWriter(f)
        writer.add("a.html", bytes(1000))
        writer.central.append(writer.central[0].replace(b"a.html", b"b.html"))
        writer.finish()
    assert any("overlaps" in problem for problem in verify.verify(path).problems)


def test_zip_bomb_is_refused_by_ratio_before_decompressing(tmp_path):
    path = signed_zip(tmp_path / "bomb.zip", [("index.html", bytes(50 << 20))], keys.generate_secret_key())
    assert path.stat().st_size < 1 << 20
    problems = verify.verify(path, extract=tmp_path / "out").problems
    assert any("'index.html' expands 1,029 times" in problem for problem in problems), problems
    assert not (tmp_path / "out").exists()


def test_many_small_bomb_entries_are_refused_by_the_whole_archive_ratio(tmp_path):
    members = [(f"p{n}.html", bytes(512 << 10)) for n in range(8)]
    problems = verify.verify(signed_zip(tmp_path / "b.zip", members, keys.generate_secret_key())).problems
    assert len(problems) == 1 and "would unpack to 4,19" in problems[0] and "cap of 200:1" in problems[0]


def test_total_size_and_entry_caps(good_zip):
    small = verify.verify(good_zip, limits=verify.Limits(max_bytes=1000)).problems
    assert len(small) == 1 and "more than the cap of 1,000" in small[0]
    few = verify.verify(good_zip, limits=verify.Limits(max_entries=3)).problems
    assert len(few) == 1 and "entries, more than the cap of 3" in few[0]


def test_extract_refuses_a_non_empty_folder_and_leaves_it_alone(good_zip, tmp_path):
    target = tmp_path / "x"
    target.mkdir()
    (target / "mine.txt").write_text("keep")
    report = verify.verify(good_zip, extract=target)
    assert report.problems == [f"--extract {target} is not empty; choose a new or empty folder."]
    assert tree(target) == {"mine.txt": b"keep"}


def test_extract_into_an_existing_empty_folder(good_zip, tmp_path):
    (tmp_path / "x").mkdir()
    report = verify.verify(good_zip, extract=tmp_path / "x")
    assert report.ok and report.extracted == tmp_path / "x" and (tmp_path / "x" / "index.html").is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x"]  # no partial folder left behind


# --- the reader's view: a real browser on file:// -----------------------------------------------------------

@pytest.mark.browser
def test_browser_reads_unzipped_copy_from_file_urls_clicking_every_link_staying_inside(good_zip, tmp_path):
    from tests.browser import chromium

    folder = tmp_path / "unzipped"
    assert verify.verify(good_zip, extract=folder).ok
    inside = folder.as_uri() + "/"
    with chromium(javascript=False) as open_page:
        session = open_page()
        page = session.page
        pending, seen, clicks = [folder.joinpath("index.html").as_uri()], set(), 0
        while pending:
            url = pending.pop()
            if url in seen:
                continue
            seen.add(url)
            page.goto(url)
            for n in range(page.locator("a[href]").count()):
                if page.url.split("#")[0] != url:
                    page.goto(url)
                link = page.locator("a[href]").nth(n)
                if link.is_visible() and link.bounding_box()["x"] >= 0:
                    link.click(timeout=5000)
                else:  # a skip link shows only when focused, as for a keyboard user
                    link.focus()
                    page.keyboard.press("Enter")
                page.wait_for_load_state()
                landed = page.url.split("#")[0]
                assert landed.startswith(inside), f"link {n} on {url} left the folder: {page.url}"
                assert Path(page.evaluate("decodeURIComponent(location.pathname)")).is_file(), page.url
                pending.append(landed)
                clicks += 1
    assert {u.removeprefix(inside) for u in seen} >= {"index.html", "about.html", "docs/guide.html",
                                                      "docs/caf%C3%A9.html", "seed.html"}
    assert clicks > 40
    outside = [u for u in session.requests if not u.startswith(inside)]
    assert session.requests and not outside, outside


def test_extract_where_it_cannot_write_is_one_problem_not_a_traceback(good_zip, tmp_path):
    (tmp_path / "a-file").write_text("not a folder")
    result = CliRunner().invoke(main, ["verify", str(good_zip), "--extract", str(tmp_path / "a-file" / "x")])
    assert result.exit_code == 1 and "could not create" in result.output and "Traceback" not in result.output
