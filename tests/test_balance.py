"""mirror/balance.py and balancer.py without a network: what `mirror balance init` writes, what it refuses,
and the guards of `mirror balance run` (the real-network tests are in test_balancer.py)."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
import time

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from stem.descriptor.hidden_service import HiddenServiceDescriptorV3

from mirror import balance, balancer, keys
from mirror.errors import BalanceError, KeyFileError
from tests.conftest import ROOT

pytestmark = pytest.mark.balance


@pytest.fixture
def plan(tmp_path):
    return balance.init(tmp_path / "balance", new_backends=2)


def mode(path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_init_writes_every_key_0600_in_0700_folders(plan):
    files = [p for p in plan.directory.rglob("*") if p.is_file()]
    folders = [plan.directory, *(p for p in plan.directory.rglob("*") if p.is_dir())]
    assert len(files) == 2 + 2 * 5  # frontend.key, config.yaml; per backend 2 keys, hostname, ob_config, torrc
    assert {mode(p) for p in files} == {0o600}
    assert {mode(p) for p in folders} == {0o700}


def test_frontend_key_is_pem_pkcs8_ed25519_whose_address_onionbalance_computes_alike(plan):
    data = plan.key_file.read_bytes()
    assert data.startswith(b"-----BEGIN PRIVATE KEY-----")  # PKCS8, unencrypted
    key = serialization.load_pem_private_key(data, password=None)
    assert isinstance(key, Ed25519PrivateKey)
    raw = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    assert HiddenServiceDescriptorV3.address_from_identity_key(raw) == plan.frontend  # what Onionbalance does


def test_each_backend_folder_is_a_hidden_service_dir_naming_the_frontend(plan):
    for backend in plan.backends:
        secret = keys.read_secret_key(backend.hs_dir / keys.SECRET_FILE)
        assert keys.onion_address(keys.public_key(secret)) == backend.address
        assert keys.read_public_key(backend.hs_dir / keys.PUBLIC_FILE) == keys.public_key(secret)
        assert (backend.hs_dir / "hostname").read_text() == backend.address + "\n"
        assert (backend.hs_dir / "ob_config").read_text() == f"MasterOnionAddress {plan.frontend}\n"
        assert "HiddenServiceOnionbalanceInstance 1" in (backend.hs_dir / "torrc").read_text().splitlines()
    config = plan.config_file.read_text()
    assert config.startswith("services:\n- key: frontend.key\n")
    assert [line.split()[-1] for line in config.splitlines() if "address:" in line] == [
        b.address for b in plan.backends]
    assert len({plan.frontend, *(b.address for b in plan.backends)}) == 3


def test_init_refuses_to_overwrite_a_frontend_key_and_changes_nothing(plan):
    before = {p: p.read_bytes() for p in plan.directory.rglob("*") if p.is_file()}
    with pytest.raises(KeyFileError, match="frontend.key already exists; refusing to overwrite"):
        balance.init(plan.directory, new_backends=3)
    assert {p: p.read_bytes() for p in plan.directory.rglob("*") if p.is_file()} == before


def test_init_refuses_a_folder_inside_a_build_directory(tmp_path):
    (tmp_path / "site/.mirror").mkdir(parents=True)
    (tmp_path / "site/.mirror/manifest.json").write_text("{}")
    with pytest.raises(KeyFileError, match="inside the build directory"):
        balance.init(tmp_path / "site/keys", new_backends=1)
    assert not (tmp_path / "site/keys").exists()


def test_existing_backends_get_an_ob_config_to_copy_and_bad_addresses_are_named(tmp_path, plan):
    known = plan.backends[0].address
    other = balance.init(tmp_path / "other", new_backends=1, addresses=(known.upper().removesuffix(".ONION"),))
    assert [b.address for b in other.backends][0] == known and other.backends[0].hs_dir is None
    assert (other.directory / "ob_config").read_text() == f"MasterOnionAddress {other.frontend}\n"
    assert any("HiddenServiceOnionbalanceInstance 1" in line for line in other.instructions())
    with pytest.raises(KeyFileError, match="'nope.onion' is not a valid v3 onion address"):
        balance.init(tmp_path / "bad", addresses=("nope.onion",))
    with pytest.raises(BalanceError, match="needs 1 to 10 backends"):
        balance.init(tmp_path / "none")


def test_instructions_say_what_goes_to_which_machine(plan):
    text = "\n".join(plan.instructions())
    assert f"Frontend address: {plan.frontend}" in text
    for backend in plan.backends:
        key = backend.hs_dir / "hs_ed25519_secret_key"
        assert f"mirror onion --balance-backend {plan.frontend} --key {key}" in text
    assert "no client authorization" in text


def test_cli_init_prints_instructions_and_refuses_a_second_run(tmp_path):
    command = [sys.executable, "-m", "mirror", "balance", "init", "--dir", str(tmp_path / "b"), "--backends", "2"]
    first, second = (subprocess.run(command, cwd=ROOT, capture_output=True, text=True) for _ in range(2))
    assert first.returncode == 0 and "Frontend address: " in first.stdout and "backend-2" in first.stdout
    assert second.returncode == 1 and second.stderr.startswith("Error: ") and "Traceback" not in second.stderr


@pytest.mark.parametrize("options, message", [
    (dict(key_file=None), "pass --key backend-N/hs_ed25519_secret_key"),
    (dict(private=True), "cannot serve a private"),
    (dict(pow_defenses=True), "does not copy pow-params"),
    (dict(attached=True), "launches its own tor"),
    (dict(frontend="x.onion"), "not a valid v3 onion address"),
])
def test_balance_backend_refuses_what_it_cannot_honour(plan, options, message):
    args = dict(frontend=plan.frontend, key_file=plan.backends[0].hs_dir / keys.SECRET_FILE, private=False,
                pow_defenses=False, attached=False) | options
    with pytest.raises((BalanceError, KeyFileError), match=message):
        balance.check_backend(**args)


def test_run_reads_the_frontend_from_config_and_refuses_a_readable_key(plan):
    assert balancer.check_config(plan.config_file) == plan.frontend
    plan.key_file.chmod(0o640)
    with pytest.raises(KeyFileError, match="chmod 600"):
        balancer.check_config(plan.config_file)
    with pytest.raises(BalanceError, match="cannot be read"):
        balancer.check_config(plan.directory / "missing.yaml")


def test_upload_progress_counts_onionbalance_attempts_and_tor_results(plan):
    count = balancer.UploadCount(plan.frontend.removesuffix(".onion"))
    line = (f"2026-01-01 00:00:00,000 [INFO]: Uploading first descriptor for {plan.frontend} to "
            f"['{'A' * 40}', '{'B' * 40}', '{'C' * 40}']")
    assert count.add_attempt(line) and count.tried == 3
    assert not count.add_attempt(line.replace(plan.frontend, plan.backends[0].address))
    event = type("Event", (), dict(address=plan.frontend.removesuffix(".onion"), action="UPLOADED"))
    assert count.add(event) and count.uploaded == 1
    event.address = plan.backends[0].address.removesuffix(".onion")
    assert not count.add(event) and count.uploaded == 1


def test_a_spinning_onionbalance_that_ignores_sigterm_is_caught_and_killed_by_pid(plan):
    """The guard for Onionbalance 0.2.4's hash-ring loop (too few HSDirs): it spins and ignores SIGTERM."""
    spin = "import signal; signal.signal(signal.SIGTERM, signal.SIG_IGN)\nwhile True: pass"
    guard = balancer.Balancer(plan.config_file, control_port=1, program=[sys.executable, "-c", spin])
    guard.loop_seconds = 2
    guard._spawn()
    pid = guard.process.pid
    try:
        began = time.monotonic()
        while not (problem := guard._problem()) and time.monotonic() - began < 15:
            time.sleep(0.25)
        assert problem and "busy for 2 s" in problem
    finally:
        guard._stop_process()
    assert guard.process.returncode == -signal.SIGKILL
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


def test_a_hash_ring_too_small_in_onionbalances_log_is_a_problem_at_once(plan):
    say = "print('2026-01-01 00:00:00,000 [INFO]: Initialized hash ring of size 4 (blinded key: x)', flush=True)"
    guard = balancer.Balancer(plan.config_file, control_port=1,
                              program=[sys.executable, "-c", say + "\nimport time; time.sleep(60)"])
    guard._spawn()
    try:
        began = time.monotonic()
        while not (problem := guard._problem()) and time.monotonic() - began < 10:
            time.sleep(0.1)
    finally:
        guard._stop_process()
    assert problem and "hash ring of 4 HSDir(s)" in problem


def test_an_onionbalance_that_keeps_dying_is_restarted_then_given_up_with_its_last_words(plan):
    events = []
    guard = balancer.Balancer(plan.config_file, control_port=1, on_event=lambda *e: events.append(e),
                              program=[sys.executable, "-c", "print('cannot start: no tor here'); exit(3)"])
    guard._spawn()
    with pytest.raises(BalanceError, match="exited with status 3.*giving up.*cannot start: no tor here"):
        for _ in range(200):
            time.sleep(0.05)
            guard.check()
    guard._stop_process()
    assert [kind for kind, _ in events] == ["restart"] * balancer.MAX_RESTARTS


@pytest.mark.parametrize("extra, message", [
    ([], "pass --key backend-N/hs_ed25519_secret_key"),
    (["--private", "--key", "K"], "cannot serve a private"),
    (["--pow", "--key", "K"], "does not copy pow-params"),
])
def test_cli_onion_balance_backend_refuses_before_starting_anything(plan, tmp_path, extra, message):
    result = subprocess.run([sys.executable, "-m", "mirror", "onion", "--balance-backend", plan.frontend, *extra,
                             str(tmp_path / "site")], cwd=ROOT, capture_output=True, text=True, timeout=60,
                            env={**os.environ, "MIRROR_REFUSE_PUBLIC_TOR": "1"})
    assert result.returncode == 1 and message in result.stderr and "Traceback" not in result.stderr
