"""A reader: Debian's firefox-esr, headless, with Tor Browser's Safest preferences, through a SOCKS port.

The profile (tests/firefox.py) also switches off every Firefox service that would phone home, so the tor
client's STREAM events can prove the page was the only thing fetched.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from tests.firefox import ENV, write_profile


def socks_prefs(socks_port: int) -> dict:
    return {"network.proxy.type": 1, "network.proxy.socks": "127.0.0.1",
            "network.proxy.socks_port": socks_port,
            "network.proxy.socks_version": 5, "network.proxy.socks_remote_dns": True,
            "network.proxy.no_proxies_on": "", "network.proxy.allow_hijacking_localhost": True,
            "network.dns.blockDotOnion": False, "privacy.resistFingerprinting": True}


def screenshot(firefox: str, url: str, socks_port: int, workdir: Path, timeout: float = 60) -> Path:
    """Load ``url`` in headless firefox-esr through ``socks_port`` and return the screenshot's path."""
    profile = write_profile(workdir / "profile", socks_prefs(socks_port))
    shot = workdir / "page.png"
    env = {**os.environ, **ENV, "MOZ_HEADLESS": "1", "HOME": str(workdir)}
    subprocess.run([firefox, "--headless", "--no-remote", "--profile", str(profile), "--window-size=800,600",
                    "--screenshot", str(shot), url], env=env, timeout=timeout, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return shot
