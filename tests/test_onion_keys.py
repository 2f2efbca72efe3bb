"""mirror/onion_keys.py: the service's key file and the readers' keys (no tor needed)."""

from __future__ import annotations

from pathlib import Path

import pytest

from mirror import onion_keys
from mirror.errors import KeyFileError


def test_key_file_inside_the_build_is_refused(tmp_path):
    with pytest.raises(KeyFileError, match="inside the build directory"):
        onion_keys.load_secret_key(tmp_path / "site/onion.key", tmp_path / "site")
    assert not (tmp_path / "site/onion.key").exists()


def test_key_file_is_created_0600_in_tors_format_and_read_back(tmp_path):
    key = tmp_path / "keys/onion.key"
    secret = onion_keys.load_secret_key(key, tmp_path / "site")
    assert key.stat().st_mode & 0o777 == 0o600 and key.stat().st_size == 96
    assert onion_keys.load_secret_key(key, tmp_path / "site") == secret


def test_private_with_key_keeps_the_readers_key_beside_it_as_an_auth_private_file(tmp_path):
    key = tmp_path / "onion.key"
    secret = onion_keys.load_secret_key(key, tmp_path / "site")
    first = onion_keys.load_reader_key(key, secret)
    assert onion_keys.load_reader_key(key, secret) == first
    saved = Path(f"{key}.auth_private")
    assert saved.stat().st_mode & 0o777 == 0o600
    assert saved.read_text() == first.auth_private_line(onion_keys.service_id_of(secret)) + "\n"
    saved.chmod(0o640)
    with pytest.raises(KeyFileError, match="chmod 600"):
        onion_keys.load_reader_key(key, secret)


def test_reader_key_is_x25519_in_base32_and_base64_for_tor():
    import base64

    import nacl.public

    reader = onion_keys.ReaderKey.generate()
    assert len(reader.private) == len(reader.public) == 52
    raw = base64.b64decode(reader.private_base64())
    assert base64.b32encode(bytes(nacl.public.PrivateKey(raw).public_key)).decode().rstrip("=") == reader.public
    assert reader.auth_private_line("a" * 56) == f"{'a' * 56}:descriptor:x25519:{reader.private}"
