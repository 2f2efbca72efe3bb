"""Tor's proof-of-work defence for onion services (``mirror onion --pow``).

Owns: telling whether a tor can do it (a tor we launch: ``tor --list-modules`` says ``pow: yes``; a tor we
attach to: version 0.4.8 or later and the option known to it), switching it on (the ``ADD_ONION`` keywords
``PoWDefensesEnabled=1``, optional ``PoWQueueRate``/``PoWQueueBurst``: stem 1.8.2 has no argument for them,
so they ride after the key in ``key_content``; a torrc service takes ``HiddenServicePoWDefensesEnabled 1``)
and reading the ``pow-params`` line back from the service's descriptor as a client sees it.

Must never: claim the defence is on when tor cannot do it (the caller gets a TorError that says why).
"""

from __future__ import annotations

import re
import subprocess

import stem
import stem.version
from stem.descriptor.hidden_service import HiddenServiceDescriptorV3

from mirror.errors import TorError

MIN_VERSION = stem.version.Version("0.4.8.1-alpha")
OPTION = "HiddenServicePoWDefensesEnabled"
POW_PARAMS = re.compile(r"^pow-params .*$", re.M)
HOW_TO_GET = ("Tor 0.4.8 or later built with the pow module has it (Debian's tor does: "
              "`tor --list-modules` prints `pow: yes`); or run without --pow.")


def check_program(tor_cmd: str) -> None:
    """Raise TorError unless the tor at ``tor_cmd`` was built with the proof-of-work module."""
    try:
        out = subprocess.run([tor_cmd, "--list-modules"], capture_output=True, text=True, timeout=20).stdout
    except (OSError, subprocess.TimeoutExpired) as e:
        raise TorError(f"could not ask {tor_cmd} for its modules ({e}).") from e
    if not re.search(r"^pow: yes$", out, re.M):
        raise TorError(f"{tor_cmd} cannot do proof-of-work (`tor --list-modules` does not say `pow: yes`). "
                       + HOW_TO_GET)


def check_controller(controller) -> None:
    """Raise TorError unless the running tor behind ``controller`` knows the proof-of-work options."""
    version = controller.get_version()
    if version < MIN_VERSION:
        raise TorError(f"the running tor is {version}; proof-of-work needs 0.4.8 or later. " + HOW_TO_GET)
    names = controller.get_info("config/names", "")
    if OPTION not in names:
        raise TorError(f"the running tor ({version}) does not know {OPTION}. " + HOW_TO_GET)


def keywords(queue_rate: int | None = None, queue_burst: int | None = None) -> list[str]:
    """The ADD_ONION keywords that switch the defence on."""
    words = ["PoWDefensesEnabled=1"]
    if queue_rate is not None:
        words.append(f"PoWQueueRate={int(queue_rate)}")
    if queue_burst is not None:
        words.append(f"PoWQueueBurst={int(queue_burst)}")
    return words


def key_content(key_blob: str, **queue) -> str:
    """``key_content`` for stem's create_ephemeral_hidden_service(key_type="ED25519-V3", ...): the key, then
    the keywords (stem writes ``ADD_ONION ED25519-V3:<key_content> ...`` verbatim)."""
    return " ".join([key_blob, *keywords(**queue)])


def refused(error: stem.ControllerError) -> TorError:
    """The TorError for an ADD_ONION that tor refused because of the PoW keywords."""
    return TorError(f"tor refused the onion service with proof-of-work ({error}). " + HOW_TO_GET)


def descriptor_pow_params(client, service_id: str) -> str | None:
    """The ``pow-params`` line of ``service_id``'s descriptor in the cache of the client tor behind
    ``client`` (a stem Controller; fetch the service through it first), or None without one."""
    service_id = service_id.removesuffix(".onion")
    try:
        text = client.get_info(f"hs/client/desc/id/{service_id}")
    except stem.ControllerError as e:
        raise TorError(f"the client tor holds no descriptor for {service_id}.onion ({e}); "
                       "fetch it first.") from e
    inner = HiddenServiceDescriptorV3.from_str(text).decrypt(f"{service_id}.onion")
    found = POW_PARAMS.search(str(inner))
    return found.group(0) if found else None
