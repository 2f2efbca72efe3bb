"""mirror/pow.py without a network: the ADD_ONION keywords and telling whether a tor can do proof-of-work
(the real service and its descriptor's pow-params are checked in test_balancer.py)."""

from __future__ import annotations

import pytest

from mirror import pow
from mirror.errors import TorError
from tests.conftest import need_program


def test_keywords_ride_after_the_key_in_key_content():
    assert pow.key_content("KEY") == "KEY PoWDefensesEnabled=1"
    assert pow.key_content("KEY", queue_rate=50, queue_burst=100) == \
        "KEY PoWDefensesEnabled=1 PoWQueueRate=50 PoWQueueBurst=100"


def test_the_installed_tor_can_do_proof_of_work():
    pow.check_program(need_program("tor"))


def test_a_tor_without_the_pow_module_is_refused_with_the_reason(tmp_path):
    fake = tmp_path / "tor"
    fake.write_text("#!/bin/sh\nprintf 'relay: yes\\ndirauth: yes\\npow: no\\n'\n")
    fake.chmod(0o755)
    with pytest.raises(TorError, match="cannot do proof-of-work .*pow: yes"):
        pow.check_program(str(fake))


def test_an_old_running_tor_is_refused_with_its_version():
    import stem.version

    class OldTor:
        def get_version(self):
            return stem.version.Version("0.4.7.16")

    with pytest.raises(TorError, match="0.4.7.16; proof-of-work needs 0.4.8"):
        pow.check_controller(OldTor())
