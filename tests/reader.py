"""A reader: Debian's firefox-esr, headless, with Tor Browser's Safest preferences, through a SOCKS port.

The profile also switches off every Firefox service that would phone home, so the tor client's STREAM
events can prove the page was the only thing fetched.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

SAFEST = {  # Tor Browser's Safest security level
    "javascript.enabled": False,
    "svg.disabled": True,
    "mathml.disabled": True,
    "gfx.downloadable_fonts.enabled": False,
    "media.play-stand-alone": False,
    "webgl.disabled": True,
}
QUIET = {  # no request but the page's own
    "app.update.enabled": False, "app.update.auto": False, "app.normandy.enabled": False,
    "browser.safebrowsing.malware.enabled": False, "browser.safebrowsing.phishing.enabled": False,
    "browser.safebrowsing.downloads.enabled": False, "browser.safebrowsing.blockedURIs.enabled": False,
    "browser.safebrowsing.provider.mozilla.updateURL": "", "browser.safebrowsing.provider.google4.updateURL": "",
    "browser.search.update": False, "browser.newtabpage.enabled": False, "browser.startup.page": 0,
    "browser.startup.homepage_override.mstone": "ignore", "browser.aboutwelcome.enabled": False,
    "browser.shell.checkDefaultBrowser": False, "browser.ping-centre.telemetry": False,
    "datareporting.healthreport.uploadEnabled": False, "datareporting.policy.dataSubmissionEnabled": False,
    "toolkit.telemetry.enabled": False, "toolkit.telemetry.unified": False, "toolkit.telemetry.server": "",
    "extensions.update.enabled": False, "extensions.getAddons.cache.enabled": False,
    "extensions.systemAddon.update.enabled": False, "extensions.blocklist.enabled": False,
    "media.gmp-manager.url": "", "media.gmp-gmpopenh264.enabled": False,
    "network.captive-portal-service.enabled": False, "network.connectivity-service.enabled": False,
    "network.prefetch-next": False, "network.dns.disablePrefetch": True, "network.predictor.enabled": False,
    "network.http.speculative-parallel-limit": 0, "network.trr.mode": 5,
    "security.OCSP.enabled": 0, "security.remote_settings.crlite_filters.enabled":
    False, "browser.contentblocking.report.monitor.enabled": False, "identity.fxaccounts.enabled": False,
    "privacy.resistFingerprinting": True, "browser.region.network.url": "", "browser.region.update.enabled": False,
    "geo.provider.network.url": "", "geo.enabled": False,
    "services.settings.server": "data:,#",  # honoured with MOZ_REMOTE_SETTINGS_DEVTOOLS=1
}


def write_profile(profile: Path, socks_port: int) -> Path:
    prefs = {**SAFEST, **QUIET,
             "network.proxy.type": 1, "network.proxy.socks": "127.0.0.1", "network.proxy.socks_port": socks_port,
             "network.proxy.socks_version": 5, "network.proxy.socks_remote_dns": True,
             "network.proxy.no_proxies_on": "", "network.proxy.allow_hijacking_localhost": True,
             "network.dns.blockDotOnion": False}
    profile.mkdir(parents=True, exist_ok=True)
    lines = [f"user_pref({json.dumps(k)}, {json.dumps(v)});" for k, v in prefs.items()]
    (profile / "user.js").write_text("\n".join(lines) + "\n")
    return profile


def screenshot(firefox: str, url: str, socks_port: int, workdir: Path, timeout: float = 60) -> Path:
    """Load ``url`` in headless firefox-esr through ``socks_port`` and return the screenshot's path."""
    profile = write_profile(workdir / "profile", socks_port)
    shot = workdir / "page.png"
    env = {**os.environ, "MOZ_HEADLESS": "1", "HOME": str(workdir), "MOZ_CRASHREPORTER_DISABLE": "1",
           "MOZ_REMOTE_SETTINGS_DEVTOOLS": "1"}
    subprocess.run([firefox, "--headless", "--no-remote", "--profile", str(profile), "--window-size=800,600",
                    "--screenshot", str(shot), url], env=env, timeout=timeout, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return shot
