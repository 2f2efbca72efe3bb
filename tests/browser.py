"""A real headless Chromium (Debian's, driven by Playwright) that logs every request.

Used by the tests that prove "no script ran, nothing was fetched" with a real browser as the oracle.
"""

from __future__ import annotations

import contextlib
import functools
import http.server
import threading
from dataclasses import dataclass, field

from tests.conftest import need_program

CHROMIUM_ARGS = [
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-default-apps", "--disable-extensions",
]


@dataclass
class Session:
    page: object
    requests: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)
    console: list[str] = field(default_factory=list)


@contextlib.contextmanager
def chromium(javascript: bool = False):
    """Yield a function that opens a new logged page: ``open_page() -> Session``."""
    executable = need_program("chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS, headless=True)
        try:
            def open_page(**context_args) -> Session:
                context = browser.new_context(**({"java_script_enabled": javascript, "service_workers": "block"}
                                                 | context_args))
                page = context.new_page()
                session = Session(page)
                context.on("request", lambda r: session.requests.append(r.url))
                page.on("dialog", lambda d: (session.dialogs.append(d.message), d.dismiss()))
                page.on("console", lambda m: session.console.append(m.text))
                return session
            yield open_page
        finally:
            browser.close()


class _LoggingHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):  # the test counts requests itself
        pass

    def do_GET(self):
        self.server.seen.append(self.path)
        super().do_GET()


@contextlib.contextmanager
def serve_logged(directory):
    """Serve ``directory`` on 127.0.0.1; yield ``(server, base_url)``, ``server.seen`` lists request paths."""
    handler = functools.partial(_LoggingHandler, directory=str(directory))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.seen = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server, f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
