"""The browser oracle for the audit: Debian's Chromium, JavaScript ENABLED, every request intercepted.

Each corpus vector is served as the root of its own origin by request interception (no server, no
socket): requests inside the vector's site get its files, every other request is logged and aborted,
and the resolver maps every name to nothing (--host-resolver-rules), so preconnect and prefetch cannot
leave the machine either. Script is detected with the DevTools debugger: any script compiled in a page's
main world (inline, event handler, javascript: URL, data: frame) that is not the browser's or
Playwright's own; alert/confirm/prompt dialogs count too. Six tabs of one browser work in parallel.

Run alone: ``python -m tests.audit_oracle`` prints the table.
"""

from __future__ import annotations

import asyncio
import mimetypes
from dataclasses import dataclass, field

from playwright.async_api import Error as PlaywrightError

from tests.audit_corpora import Vector
from tests.browser import CHROMIUM_ARGS
from tests.conftest import need_program

# Each vector is a site of its own at the root of its own origin, as a build directory is served; no
# name is ever resolved or connected to: every request is answered or aborted by interception.
SITE = "http://{}.mirror.test/"
ORACLE_ARGS = CHROMIUM_ARGS + [
    "--host-resolver-rules=MAP * ~NOTFOUND",  # nothing resolves: preconnect/dns-prefetch stay local
    "--disable-features=IsolateOrigins,site-per-process",  # frames share the page's debugger
    "--disable-site-isolation-trials",
]
TABS = 6
SETTLE_MS = 150
REFRESH_MS = 1300  # <meta refresh> waits its delay (the corpora use 0 or 1 s)
TRIGGER_URL = "__oracle_trigger__"
HOVER_AND_FOCUS = ("for (const el of document.querySelectorAll('*')) for (const type of ['pointerover', "
                   "'pointerenter', 'mouseover', 'mouseenter', 'mousemove', 'focus', 'focusin', 'mouseout', "
                   "'blur']) el.dispatchEvent(new Event(type, {bubbles: false}))")
NETWORK_SCHEMES = ("http:", "https:", "ws:", "wss:", "ftp:")


@dataclass
class Observation:
    vector: Vector
    scripts: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)  # outside the vector's folder
    error: str = ""

    @property
    def executed(self) -> bool:
        return bool(self.scripts or self.dialogs)

    @property
    def requested(self) -> bool:
        return bool(self.requests)


def observe(vectors: list[Vector]) -> dict[str, Observation]:
    """Load every vector in Chromium and report what ran and what was requested."""
    executable = need_program("chromium")
    return asyncio.run(_observe(executable, vectors))


async def _observe(executable: str, vectors: list[Vector]) -> dict[str, Observation]:
    from playwright.async_api import async_playwright

    by_id = {v.id: v for v in vectors}
    seen = {v.id: Observation(v) for v in vectors}
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=executable, args=ORACLE_ARGS, headless=True)
        try:
            context = await browser.new_context(java_script_enabled=True, service_workers="block")
            await context.route("**/*", lambda route: _answer(route, by_id, seen))
            context.on("page", _adopt_popup)
            baseline = await _baseline_scripts(context)
            queue: asyncio.Queue = asyncio.Queue()
            for vector in vectors:
                queue.put_nowait(vector)
            await asyncio.gather(*[_tab(context, queue, seen, baseline) for _ in range(TABS)])
        finally:
            await browser.close()
    return seen


async def _answer(route, by_id: dict, seen: dict) -> None:
    url = route.request.url
    vector_id = _vector_of(route.request)
    prefix = SITE.format(vector_id) if vector_id else None
    if prefix and url.startswith(prefix):
        name = url[len(prefix):].split("?", 1)[0].split("#", 1)[0]
        files = by_id[vector_id].files
        if name in files:
            ctype = mimetypes.guess_type(name, strict=False)[0] or "application/octet-stream"
            if name.endswith((".xhtml", ".xht")):
                ctype = "application/xhtml+xml"
            return await route.fulfill(status=200, content_type=ctype, body=files[name].encode("utf-8", "replace"))
        return await route.fulfill(status=404, content_type="text/plain", body="")
    if vector_id and url.lower().startswith(NETWORK_SCHEMES):
        seen[vector_id].requests.append(url)
    await route.abort()


def _vector_of(request) -> str | None:
    try:
        return getattr(request.frame.page, "vector_id", None)
    except PlaywrightError:  # a request without a frame (a worker): not attributable, still aborted
        return None


def _adopt_popup(page) -> None:
    async def adopt():
        opener = await page.opener()
        page.vector_id = getattr(opener, "vector_id", None)
    asyncio.ensure_future(adopt())


async def _baseline_scripts(context) -> set[str]:
    """Hashes of the scripts every page gets without running any of its own."""
    page = await context.new_page()
    hashes: set[str] = set()
    cdp = await context.new_cdp_session(page)
    cdp.on("Debugger.scriptParsed", lambda e: hashes.add(e["hash"]))
    await cdp.send("Debugger.enable")
    await page.goto("about:blank")
    await page.wait_for_timeout(SETTLE_MS)
    await page.close()
    return hashes


async def _tab(context, queue: asyncio.Queue, seen: dict, baseline: set[str]) -> None:
    page = await context.new_page()
    current: dict = {}
    cdp = await context.new_cdp_session(page)
    cdp.on("Debugger.scriptParsed", lambda e: _script(e, current, baseline))
    await cdp.send("Debugger.enable")
    page.on("dialog", lambda d: (current["obs"].dialogs.append(d.message), asyncio.ensure_future(d.dismiss())))
    while not queue.empty():
        vector = queue.get_nowait()
        current["obs"] = seen[vector.id]
        page.vector_id = vector.id
        await _visit(page, cdp, vector, current["obs"])
    await page.close()


def _script(event: dict, current: dict, baseline: set[str]) -> None:
    aux = event.get("executionContextAuxData") or {}
    url = event.get("url", "")
    if not aux.get("isDefault") or event["hash"] in baseline or "obs" not in current:
        return
    if url.startswith("chrome-error:") or url == TRIGGER_URL or "__playwright" in url:
        return  # the browser's own error page (after an aborted request), or our trigger
    current["obs"].scripts.append(url[:80] or "(inline)")


async def _visit(page, cdp, vector: Vector, obs: Observation) -> None:
    try:
        await page.goto(SITE.format(vector.id) + vector.page, wait_until="load", timeout=3000)
    except PlaywrightError as e:  # a vector may navigate away, hang or crash its page: that is data
        obs.error = str(e).splitlines()[0][:100]
    wait = REFRESH_MS if "refresh" in vector.files[vector.page].lower() else SETTLE_MS
    await page.wait_for_timeout(wait)
    # Provoke what waits for a reader: hover and focus every element (never a click: a click may follow
    # a link, which is the reader's choice), then the vector's own trigger. Both go through the debugger
    # protocol under a name the script detector ignores.
    for code in (HOVER_AND_FOCUS, vector.trigger):
        if not code:
            continue
        try:
            await cdp.send("Runtime.evaluate", {"expression": f"try {{ {code}\n}} catch (e) {{}}\n"
                                                              f"//# sourceURL={TRIGGER_URL}", "userGesture": True})
            await page.wait_for_timeout(SETTLE_MS)
        except PlaywrightError as e:
            obs.error = obs.error or str(e).splitlines()[0][:100]
    try:  # leave the page so late timers of this vector cannot be blamed on the next
        await page.goto("about:blank", timeout=3000)
    except PlaywrightError as e:
        obs.error = obs.error or f"could not leave the page: {str(e).splitlines()[0][:80]}"


# --- the table -------------------------------------------------------------------------------------

CONTENT_RULES = frozenset({"script", "remote-load", "form"})


@dataclass
class Row:
    corpus: str
    tried: int = 0
    flagged: int = 0
    executed: int = 0
    requested: int = 0
    false_negatives: list[str] = field(default_factory=list)
    false_positives: list[str] = field(default_factory=list)


def judge(obs: Observation, rules: set[str]) -> tuple[bool, bool, bool]:
    """(flagged, false negative, false positive) for one vector given the rules the audit reported."""
    flagged = bool(rules & CONTENT_RULES)
    missed_script = obs.executed and "script" not in rules
    missed_load = obs.requested and not rules & {"script", "remote-load"}
    return flagged, missed_script or missed_load, flagged and not (obs.executed or obs.requested)


def table(rows: list[Row]) -> str:
    lines = [f"{'corpus':8} {'tried':>5} {'flagged':>7} {'executed':>8} {'requested':>9} {'FN':>3} {'FP':>4}"]
    total = Row("total")
    for row in rows + [total]:
        if row is not total:
            for name in ("tried", "flagged", "executed", "requested"):
                setattr(total, name, getattr(total, name) + getattr(row, name))
            total.false_negatives += row.false_negatives
            total.false_positives += row.false_positives
        lines.append(f"{row.corpus:8} {row.tried:5} {row.flagged:7} {row.executed:8} {row.requested:9} "
                     f"{len(row.false_negatives):3} {len(row.false_positives):4}")
    return "\n".join(lines)


def run(vectors: list[Vector], rules_of) -> tuple[list[Row], dict[str, Observation]]:
    """Observe every vector and judge the audit's rules (``rules_of(vector) -> set``) against it."""
    seen = observe(vectors)
    rows: dict[str, Row] = {}
    for vector in vectors:
        row = rows.setdefault(vector.corpus, Row(vector.corpus))
        obs = seen[vector.id]
        flagged, false_negative, false_positive = judge(obs, rules_of(vector))
        row.tried += 1
        row.flagged += flagged
        row.executed += obs.executed
        row.requested += obs.requested
        if false_negative:
            row.false_negatives.append(vector.id)
        if false_positive:
            row.false_positives.append(vector.id)
    return list(rows.values()), seen


if __name__ == "__main__":  # pragma: no cover - a report for people
    import tempfile
    from pathlib import Path

    from mirror import audit
    from tests.audit_corpora import leak_vectors, xss_vectors

    every = leak_vectors() + xss_vectors()
    with tempfile.TemporaryDirectory() as tmp:
        def rules_of(vector: Vector) -> set[str]:
            return {f.rule for f in audit.audit_dir(vector.write(Path(tmp))).findings}
        result, observed = run(every, rules_of)
    print(table(result))
    for row in result:
        for vid in row.false_negatives:
            o = observed[vid]
            print("FN", vid, o.scripts[:2], o.dialogs[:2], o.requests[:2])
