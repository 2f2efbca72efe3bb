"""A real headless Firefox ESR with Tor Browser's "Safest" preferences, driven over Marionette.

Playwright cannot drive Debian's firefox-esr, so this speaks Marionette's wire protocol (length-prefixed
JSON over a local TCP socket) directly: navigate, click, back, forward and read the page's state. Marionette's
own scripts run in a privileged sandbox, so they work while the page's JavaScript is off.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from mirror.testnet import stop_process
from tests.conftest import need_program

SAFEST = {  # Tor Browser's Safest security level, as far as content is concerned
    "javascript.enabled": False,
    "svg.disabled": True,
    "mathml.disabled": True,
    "gfx.downloadable_fonts.enabled": False,
    "media.play-stand-alone": False,
    "webgl.disabled": True,
}
TOR_BROWSER = {  # at every level: nothing fetched ahead of the reader (a stricter oracle turns prefetch back
    # on), and no WebRTC, whose UDP would go around any proxy
    "network.prefetch-next": False, "network.dns.disablePrefetch": True, "network.predictor.enabled": False,
    "network.http.speculative-parallel-limit": 0, "media.peerconnection.enabled": False,
}
QUIET = {  # none of Firefox's own traffic, so whatever is requested is the page's doing
    "app.update.enabled": False, "app.update.auto": False, "app.update.disabledForTesting": True,
    "app.normandy.enabled": False,
    "browser.safebrowsing.malware.enabled": False, "browser.safebrowsing.phishing.enabled": False,
    "browser.safebrowsing.downloads.enabled": False, "browser.safebrowsing.blockedURIs.enabled": False,
    "browser.safebrowsing.provider.mozilla.updateURL": "",
    "browser.safebrowsing.provider.google4.updateURL": "",
    "browser.search.update": False, "browser.newtabpage.enabled": False, "browser.startup.page": 0,
    "browser.startup.homepage_override.mstone": "ignore", "browser.aboutwelcome.enabled": False,
    "browser.shell.checkDefaultBrowser": False, "browser.ping-centre.telemetry": False,
    "datareporting.healthreport.uploadEnabled": False, "datareporting.policy.dataSubmissionEnabled": False,
    "toolkit.telemetry.enabled": False, "toolkit.telemetry.unified": False, "toolkit.telemetry.server": "",
    "extensions.update.enabled": False, "extensions.getAddons.cache.enabled": False,
    "extensions.systemAddon.update.enabled": False, "extensions.blocklist.enabled": False,
    "media.gmp-manager.url": "", "media.gmp-gmpopenh264.enabled": False, "media.gmp-provider.enabled": False,
    "media.gmp-widevinecdm.enabled": False, "media.eme.enabled": False,
    "media.gmp-manager.chromium-update-url": "", "media.gmp-widevinecdm.allow-chromium-update": False,
    "network.captive-portal-service.enabled": False, "network.connectivity-service.enabled": False,
    "network.trr.mode": 5,
    "security.OCSP.enabled": 0, "security.remote_settings.crlite_filters.enabled": False,
    "browser.contentblocking.report.monitor.enabled": False, "identity.fxaccounts.enabled": False,
    "browser.region.network.url": "", "browser.region.update.enabled": False,
    "geo.provider.network.url": "", "geo.enabled": False,
    "services.settings.server": "data:,#",  # honoured with MOZ_REMOTE_SETTINGS_DEVTOOLS=1 (see ENV)
}
ENV = {"MOZ_CRASHREPORTER_DISABLE": "1", "MOZ_REMOTE_SETTINGS_DEVTOOLS": "1"}
ELEMENT = "element-6066-11e4-a52e-4f735466cecf"
SET_PREFS = """for (const [name, value] of Object.entries(arguments[0])) {
  if (typeof value === "boolean") Services.prefs.setBoolPref(name, value);
  else if (typeof value === "number") Services.prefs.setIntPref(name, value);
  else Services.prefs.setStringPref(name, value);
}"""


class MarionetteError(RuntimeError):
    def __init__(self, message: str, data: dict | None = None):
        super().__init__(message)
        self.data = data or {}


class Firefox:
    def __init__(self, port: int):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=60)
        self.stream = self.sock.makefile("rb")
        self.next_id = 0
        self._read()  # the server's hello
        self.command("WebDriver:NewSession", {"capabilities": {}})

    def _read(self):
        size = b""
        while (char := self.stream.read(1)) != b":":
            if not char:
                raise MarionetteError("Firefox closed the Marionette connection")
            size += char
        return json.loads(self.stream.read(int(size)))

    def command(self, name: str, params: dict | None = None):
        self.next_id += 1
        data = json.dumps([0, self.next_id, name, params or {}]).encode()
        self.sock.sendall(str(len(data)).encode() + b":" + data)
        _, _, error, result = self._read()
        if error:
            raise MarionetteError(f"{name}: {error}", error.get("data") if isinstance(error, dict) else None)
        return result.get("value") if isinstance(result, dict) and "value" in result else result

    def navigate(self, url: str) -> None:
        self.command("WebDriver:Navigate", {"url": url})

    def click(self, css: str) -> None:
        element = self.command("WebDriver:FindElement", {"using": "css selector", "value": css})
        self.command("WebDriver:ElementClick", {"id": element[ELEMENT]})

    def back(self) -> None:
        self.command("WebDriver:Back")

    def forward(self) -> None:
        self.command("WebDriver:Forward")

    def evaluate(self, function: str, *args):
        """Call a JavaScript function source in the page (Marionette's sandbox) and return its result."""
        return self.command("WebDriver:ExecuteScript",
                            {"script": f"return ({function})(...arguments)", "args": list(args)})

    def dialog(self) -> str | None:
        """The text of the alert, confirm or prompt a page's script opened (dismissed now), or None."""
        try:
            text = self.command("WebDriver:GetAlertText")
        except MarionetteError as e:
            if "no such alert" in str(e):
                return None
            raise
        try:
            self.command("WebDriver:DismissAlert")
        except MarionetteError as e:
            if "no such alert" not in str(e):  # else it went by itself
                raise
        return text

    def set_prefs(self, prefs: dict) -> None:
        """Change preferences in the running browser (documents loaded from now on see them)."""
        self.command("Marionette:SetContext", {"value": "chrome"})
        try:
            self.command("WebDriver:ExecuteScript", {"script": SET_PREFS, "args": [prefs]})
        finally:
            self.command("Marionette:SetContext", {"value": "content"})

    def close(self) -> None:
        with contextlib.suppress(OSError, MarionetteError):
            self.command("WebDriver:DeleteSession")
        self.stream.close()
        self.sock.close()


@contextlib.contextmanager
def firefox(prefs: dict | None = None, width: int = 1000, height: int = 800):
    """Yield a ``Firefox`` with Tor Browser's Safest preferences (``write_profile``, plus ``prefs``)."""
    executable = need_program("firefox-esr")
    profile = Path(tempfile.mkdtemp(prefix="mirror-ff-"))
    write_profile(profile, {"marionette.port": 0, **(prefs or {})})
    env = {**os.environ, **ENV, "MOZ_HEADLESS_WIDTH": str(width), "MOZ_HEADLESS_HEIGHT": str(height)}
    command = [executable, "--headless", "--no-remote", "--marionette", "-remote-allow-system-access",
               "--profile", str(profile),
               "about:blank"]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    browser = None
    try:
        browser = Firefox(_wait_for_port(profile / "MarionetteActivePort", process))
        yield browser
    finally:
        if browser:
            browser.close()
        stop_process(process, grace=20)
        shutil.rmtree(profile, ignore_errors=True)


def write_profile(profile: Path, prefs: dict) -> Path:
    """A profile whose user.js sets Tor Browser's Safest level, its no-prefetch and no-WebRTC, no traffic of
    Firefox's own, then ``prefs``."""
    settings = {**QUIET, **TOR_BROWSER, **SAFEST, **prefs}
    profile.mkdir(parents=True, exist_ok=True)
    lines = [f"user_pref({json.dumps(k)}, {json.dumps(v)});" for k, v in settings.items()]
    (profile / "user.js").write_text("\n".join(lines) + "\n")
    return profile


def _wait_for_port(path: Path, process: subprocess.Popen, timeout: float = 60) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise MarionetteError(f"firefox-esr exited ({process.returncode}) before Marionette started")
        with contextlib.suppress(FileNotFoundError, ValueError):
            return int(path.read_text())
        time.sleep(0.05)
    raise MarionetteError("Marionette did not start within a minute")
