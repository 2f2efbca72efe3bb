"""mirror.keys: tor-format key files, v3 onion addresses, and signing with an expanded secret key.

The oracles are independent of the code under test: the ``cryptography`` package's ed25519 (OpenSSL) for
signatures, and a real tor (on a private config that never touches the network) for the onion address.
"""

from __future__ import annotations

import base64
import os
import subprocess
import time
from pathlib import Path

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from mirror import keys
from mirror.errors import KeyFileError
from tests.conftest import need_program

# RFC 8032 section 7.1, TEST 3: seed, public key, message, signature.
RFC8032_SEED = bytes.fromhex("c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7")
RFC8032_PUBLIC = bytes.fromhex("fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025")
RFC8032_MESSAGE = bytes.fromhex("af82")
RFC8032_SIGNATURE = bytes.fromhex(
    "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac"
    "18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a")


def raw_public(private: Ed25519PrivateKey) -> bytes:
    return private.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def test_sign_matches_rfc8032_test_vector():
    expanded = keys.expand_seed(RFC8032_SEED)
    assert keys.public_key(expanded) == RFC8032_PUBLIC
    assert keys.sign(expanded, RFC8032_MESSAGE) == RFC8032_SIGNATURE


@pytest.mark.parametrize("length", [0, 1, 64, 1000])
def test_signature_from_expanded_key_verifies_under_openssl_ed25519(length):
    expanded = keys.generate_secret_key()
    message = os.urandom(length)
    signature = keys.sign(expanded, message)
    oracle = Ed25519PublicKey.from_public_bytes(keys.public_key(expanded))
    oracle.verify(signature, message)  # raises InvalidSignature on failure
    with pytest.raises(InvalidSignature):
        oracle.verify(signature, message + b"x")


def test_sign_equals_openssl_signature_for_the_same_seed():
    seed = os.urandom(32)
    private = Ed25519PrivateKey.from_private_bytes(seed)
    expanded = keys.expand_seed(seed)
    assert keys.public_key(expanded) == raw_public(private)
    assert keys.sign(expanded, b"manifest") == private.sign(b"manifest")


def test_verify_accepts_good_and_refuses_tampered_signatures():
    expanded = keys.generate_secret_key()
    public = keys.public_key(expanded)
    signature = keys.sign(expanded, b"hello")
    assert keys.verify(public, b"hello", signature)
    assert not keys.verify(public, b"hellO", signature)
    assert not keys.verify(public, b"hello", signature[:-1] + bytes([signature[-1] ^ 1]))
    assert not keys.verify(keys.public_key(keys.generate_secret_key()), b"hello", signature)
    assert not keys.verify(public, b"hello", signature[:10])


def test_generated_keys_are_clamped_and_distinct():
    first, second = keys.generate_secret_key(), keys.generate_secret_key()
    assert first != second and len(first) == 64
    assert first[0] & 7 == 0 and first[31] & 128 == 0 and first[31] & 64


def test_onion_address_roundtrips_and_rejects_bad_checksum():
    public = keys.public_key(keys.generate_secret_key())
    address = keys.onion_address(public)
    assert len(address) == 62 and address.endswith(".onion") and address == address.lower()
    assert keys.public_key_from_address(address) == public
    assert keys.public_key_from_address(f"http://{address.upper()}/") == public
    bad = ("a" if address[0] != "a" else "b") + address[1:]
    with pytest.raises(KeyFileError, match="not a valid v3 onion address"):
        keys.public_key_from_address(bad)
    with pytest.raises(KeyFileError):
        keys.public_key_from_address("expyuzz4wqqyqhjn.onion")


def test_known_onion_address_from_tor_spec_roundtrips():
    # The DuckDuckGo v3 address: a real, tor-computed address with a valid checksum.
    address = "duckduckgogg42xjoc72x3sjasowoarfbgcmvfimaftt6twagswzczad.onion"
    assert keys.onion_address(keys.public_key_from_address(address)) == address


def test_secret_key_file_roundtrip_is_0600_and_tor_format(tmp_path):
    expanded = keys.generate_secret_key()
    path = keys.write_secret_key(tmp_path / "dir" / keys.SECRET_FILE, expanded)
    assert path.stat().st_mode & 0o777 == 0o600
    data = path.read_bytes()
    assert data[:32] == b"== ed25519v1-secret: type0 ==\x00\x00\x00" and data[32:] == expanded
    assert keys.read_secret_key(path) == expanded
    assert list(path.parent.iterdir()) == [path]  # no temporary file left behind


def test_write_secret_key_refuses_to_overwrite(tmp_path):
    path = keys.write_secret_key(tmp_path / "k", keys.generate_secret_key())
    before = path.read_bytes()
    with pytest.raises(KeyFileError, match="refusing to overwrite"):
        keys.write_secret_key(path, keys.generate_secret_key())
    assert path.read_bytes() == before


def test_read_secret_key_refuses_group_readable_file_and_says_chmod(tmp_path):
    path = keys.write_secret_key(tmp_path / "k", keys.generate_secret_key())
    path.chmod(0o640)
    with pytest.raises(KeyFileError, match=rf"chmod 600 {path}"):
        keys.read_secret_key(path)


@pytest.mark.parametrize("content", [
    b"",
    b"== ed25519v1-public: type0 ==\x00\x00\x00" + bytes(64),
    b"== ed25519v1-secret: type0 ==\x00\x00\x00" + bytes(63),
    os.urandom(96),
])
def test_read_secret_key_refuses_wrong_header_or_length(tmp_path, content):
    path = tmp_path / "k"
    path.write_bytes(content)
    path.chmod(0o600)
    with pytest.raises(KeyFileError, match=str(path)):
        keys.read_secret_key(path)


def test_read_secret_key_missing_file_names_it(tmp_path):
    with pytest.raises(KeyFileError, match="does not exist"):
        keys.read_secret_key(tmp_path / "nope")


def test_public_key_file_roundtrip(tmp_path):
    public = keys.public_key(keys.generate_secret_key())
    path = keys.write_public_key(tmp_path / keys.PUBLIC_FILE, public)
    assert path.read_bytes()[:32] == b"== ed25519v1-public: type0 ==\x00\x00\x00"
    assert keys.read_public_key(path) == public


def test_tor_key_blob_is_base64_of_the_expanded_key():
    expanded = keys.generate_secret_key()
    assert base64.b64decode(keys.tor_key_blob(expanded)) == expanded


def private_torrc(tmp_path: Path, hs_dir: Path) -> Path:
    """A torrc that cannot reach any network: DisableNetwork, a dead loopback authority, no ports."""
    data = tmp_path / "tor-data"
    data.mkdir(mode=0o700)
    torrc = tmp_path / "torrc"
    torrc.write_text("\n".join([
        f"DataDirectory {data}",
        "TestingTorNetwork 1",
        "DisableNetwork 1",
        "DirAuthority dead orport=1 no-v2 v3ident=" + "0" * 40 + " 127.0.0.1:1 " + "0" * 40,
        "SocksPort 0",
        "ControlPort 0",
        f"HiddenServiceDir {hs_dir}",
        "HiddenServicePort 80 127.0.0.1:1",
        "Log notice stderr",
    ]) + "\n")
    return torrc


def tor_hostname(tmp_path: Path, hs_dir: Path) -> str:
    """The hostname a real tor (private, offline config) writes for the key in HiddenServiceDir ``hs_dir``."""
    tor = need_program("tor")
    torrc = private_torrc(tmp_path, hs_dir)
    proc = subprocess.Popen([tor, "-f", str(torrc), "--defaults-torrc", "/dev/null"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    hostname = hs_dir / "hostname"
    try:
        deadline = time.monotonic() + 30
        while not hostname.exists() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert hostname.exists(), f"tor wrote no hostname; exit status {proc.poll()}"
    finally:
        proc.terminate()
        _, stderr = proc.communicate(timeout=20)
    assert b"Bootstrapped 5%" not in stderr, "tor tried to reach a network"
    return hostname.read_text().strip()


@pytest.mark.tor
def test_real_tor_reports_the_same_onion_address_for_our_key_file(tmp_path):
    hs_dir = tmp_path / "hs"
    hs_dir.mkdir(mode=0o700)
    expanded = keys.generate_secret_key()
    keys.write_secret_key(hs_dir / keys.SECRET_FILE, expanded)
    assert tor_hostname(tmp_path, hs_dir) == keys.onion_address(keys.public_key(expanded))
    assert keys.read_public_key(hs_dir / keys.PUBLIC_FILE) == keys.public_key(expanded)
    assert keys.read_secret_key(hs_dir / keys.SECRET_FILE) == expanded  # tor kept our file as it was
