"""One document against the multi-file build of the same site, in Chromium (JS off) over Tor-like conditions.

    python -m bench.single_document [--runs N] [--whatwg [BUILD_DIR]]

Both builds are served on 127.0.0.1 by mirror's own server (compressed variants, large files included); Chromium
emulates 400 ms round trip and 2 Mbit/s each way (CDP Network.emulateNetworkConditions). Figures: time to
first page (navigation start -> the home page's heading visible, and first contentful paint) and time from
a click to the next page's heading visible, median over the clicks of a reading session. The harness floor
(a click that changes nothing, then the same wait) says how much of a figure is Playwright's own polling.
``--whatwg`` adds the whatwg.org corpus, far above the size warning: its multi-file build is made with
``mirror build --from`` (the sanitizer) unless BUILD_DIR names one already made.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

from mirror import build, serve, single

ROOT = Path(__file__).resolve().parents[1]
FCP = "() => (performance.getEntriesByName('first-contentful-paint')[0] || {}).startTime"
TIME_ORIGIN = "() => performance.timeOrigin"
RTT_MS = 400
BYTES_PER_S = 2_000_000 / 8
# a reading session of the dozen-page site: (page, link id, page the link shows, its heading's text)
CLICKS = [("index.html", "to-about", "about.html", "About"), ("about.html", "to-home", "index.html", "Home"),
          ("index.html", "to-usage", "docs/guide.html", "Usage"),
          ("docs/guide.html", "to-fn-a", "docs/api/ref.html", "fn_a"),
          ("docs/api/ref.html", "to-guide-usage", "docs/guide.html", "Usage"),
          ("docs/guide.html", "to-faq-q3", "faq.html", "Question 3")]


def build_both(tmp: Path) -> tuple[Path, Path]:
    from tests import single_site

    multi, one = tmp / "multi", tmp / "one"
    build.write_build(multi, single_site.files(), single_site.csp())
    single.write_single(one, single_site.pages(), single_site.assets())
    return multi, one


def throttled_page(browser):
    context = browser.new_context(java_script_enabled=False, service_workers="block",
                                  viewport={"width": 1000, "height": 700})
    page = context.new_page()
    cdp = context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send("Network.setCacheDisabled", {"cacheDisabled": False})
    cdp.send("Network.emulateNetworkConditions", {"offline": False, "latency": RTT_MS, "downloadThroughput":
                                                  BYTES_PER_S, "uploadThroughput": BYTES_PER_S})
    page.set_default_timeout(180_000)
    return context, page


def first_page(browser, url: str, heading) -> tuple[float, float | None]:
    context, page = throttled_page(browser)
    try:
        start = time.perf_counter()
        page.goto(url, wait_until="commit")
        heading(page).wait_for(state="visible")
        shown = time.perf_counter() - start
        page.wait_for_timeout(500)  # paint entries are queued a little after the paint
        fcp = page.evaluate(FCP)
        return shown, (fcp / 1000 if fcp else None)
    finally:
        context.close()


def click_times(browser, url: str, link, heading, clicks) -> tuple[list[float], list[float]]:
    """Seconds from each click to the next page's heading visible; and, where a click loaded a new
    document, that document's first contentful paint (from its navigation start, i.e. the click)."""
    context, page = throttled_page(browser)
    try:
        page.goto(url)
        times, paints = [], []
        for here, link_id, there, text in clicks:
            target = link(page, here, link_id)
            target.scroll_into_view_if_needed()
            origin = page.evaluate(TIME_ORIGIN)
            start = time.perf_counter()
            target.click(no_wait_after=True)
            heading(page, there, text).wait_for(state="visible")
            times.append(time.perf_counter() - start)
            if page.evaluate(TIME_ORIGIN) != origin:
                page.wait_for_timeout(500)  # paint entries are queued a little after the paint
                paints.append(page.evaluate(FCP) / 1000)
        return times, paints
    finally:
        context.close()


def harness_floor(browser, url: str, heading) -> float:
    context, page = throttled_page(browser)
    try:
        page.goto(url)
        times = []
        for _ in range(5):
            start = time.perf_counter()
            heading(page).click(no_wait_after=True)
            heading(page).wait_for(state="visible")
            times.append(time.perf_counter() - start)
        return statistics.median(times)
    finally:
        context.close()


def dozen_site(browser, multi_url: str, one_url: str, runs: int) -> None:
    from mirror.single_links import slugs_for
    from tests import single_site

    slugs = slugs_for(list(single_site.PAGES), "index.html")
    multi_heading = lambda page, there="index.html", text="Home": page.locator(  # noqa: E731
        "h1, h2", has_text=text).first
    one_heading = lambda page, there="index.html", text="Home": page.locator(  # noqa: E731
        f"#p-{slugs[there]} :is(h1, h2)", has_text=text).first
    rows = {}
    for name, url, heading, link in (
            ("multi-file", multi_url, multi_heading, lambda p, here, i: p.locator(f"[id='{i}']")),
            ("one document", one_url, one_heading,
             lambda p, here, i: p.locator(f"[id='p-{slugs[here]}--{i}']"))):
        firsts = [first_page(browser, url, heading) for _ in range(runs)]
        sessions = [click_times(browser, url, link, heading, CLICKS) for _ in range(runs)]
        rows[name] = (firsts, [t for s in sessions for t in s[0]], [p for s in sessions for p in s[1]])
    report("dozen-page site", rows)
    print(f"  harness floor (a click that changes nothing, then the same wait): "
          f"{harness_floor(browser, one_url, one_heading):.3f} s")


def report(title: str, rows: dict) -> None:
    print(f"{title} (Chromium, JS off, {RTT_MS} ms RTT, {BYTES_PER_S * 8 / 1e6:g} Mbit/s):")
    for name, (firsts, clicks, paints) in rows.items():
        shown = statistics.median(f[0] for f in firsts)
        fcps = [f[1] for f in firsts if f[1] is not None]
        fcp = f"{statistics.median(fcps):.2f} s" if fcps else "n/a"
        painted = f" (new document painted {statistics.median(paints):.3f} s)" if paints else ""
        print(f"  {name:13} first page: FCP {fcp}, heading visible {shown:.2f} s; click -> next page: "
              f"median {statistics.median(clicks):.3f} s{painted}, max {max(clicks):.3f} s "
              f"over {len(clicks)} clicks")


def whatwg_multi(tmp: Path) -> Path | None:
    given = sys.argv.index("--whatwg") + 1
    if given < len(sys.argv) and not sys.argv[given].startswith("-"):
        return Path(sys.argv[given])
    try:
        from mirror import site_import
    except ImportError:
        print("whatwg: skipped (needs the sanitizer, mirror build --from, or a BUILD_DIR)")
        return None
    corpus = ROOT.parent / "shared/corpora/realsite/whatwg"
    if not corpus.is_dir():
        print(f"whatwg: skipped ({corpus} is absent)")
        return None
    site_import.build_from(corpus, tmp / "whatwg-multi")
    return tmp / "whatwg-multi"


def whatwg(browser, tmp: Path) -> None:
    multi = whatwg_multi(tmp)
    if multi is None:
        return
    one = tmp / "whatwg-one"
    pages, assets = single.read_build(multi)
    _, rep = single.write_single(one, pages, assets)
    print("whatwg:", " ".join(rep.lines()[:1]))
    with serve.start(multi) as multi_server, serve.start(one) as one_server:
        multi_rows = whatwg_multi_figures(browser, multi_server.url)
        one_rows = whatwg_one_figures(browser, one_server.url)
    print(f"whatwg.org (Chromium, JS off, {RTT_MS} ms RTT, {BYTES_PER_S * 8 / 1e6:g} Mbit/s), seconds; "
          "clicks are wall time with Playwright's polling, which grows with the DOM (style+layout below):")
    for name, figures in (("multi-file", multi_rows), ("one document", one_rows)):
        print(f"  {name:13} " + "; ".join(f"{k} {v:.2f}" for k, v in figures.items()))
    click_cost_by_size(browser, pages, assets, tmp)


def click_cost_by_size(browser, pages: dict, assets: dict, tmp: Path) -> None:
    """What a page switch costs as the document grows (no network in it: file://, no throttling): Chromium's
    own style and layout time per click (CDP Performance metrics; Playwright's polling, which grows with the
    DOM too, is not in it) and the wall time with that polling."""
    print("click cost by document size (whatwg pages, smallest first; file://, no throttling):")
    by_size = sorted(pages, key=lambda p: len(pages[p]))
    for budget in (1 << 20, 4 << 20, 12 << 20, 1 << 40):
        chosen = {p: pages[p] for p in ("index.html", "whatwg.org/index.html", "whatwg.org/faq.html")}
        for path in by_size:
            if sum(len(v) for v in chosen.values()) > budget:
                break
            chosen[path] = pages[path]
        doc = single.join_pages(chosen, assets)
        path = tmp / f"size-{len(chosen)}.html"
        path.write_bytes(doc.files["index.html"])
        context = browser.new_context(java_script_enabled=False, viewport={"width": 1000, "height": 700})
        page = context.new_page()
        cdp = context.new_cdp_session(page)
        cdp.send("Performance.enable")
        metrics = lambda: {m["name"]: m["value"] for m in cdp.send("Performance.getMetrics")["metrics"]}  # noqa
        page.goto(path.as_uri() + "#p-whatwg-org", wait_until="load")
        times, work = [], []
        for here, there in (("whatwg-org", "whatwg-org-faq"), ("whatwg-org-faq", "whatwg-org")) * 3:
            link = page.locator(f"#p-{here} a[href='#p-{there}']").first
            link.scroll_into_view_if_needed()
            before, start = metrics(), time.perf_counter()
            link.click(no_wait_after=True)
            page.locator(f"#p-{there} :is(h1, h2)").first.wait_for(state="visible")
            times.append(time.perf_counter() - start)
            after = metrics()
            work.append(sum(after[k] - before[k] for k in ("RecalcStyleDuration", "LayoutDuration")))
        nodes = metrics()["Nodes"]
        context.close()
        print(f"  {len(chosen):3} pages, {doc.report.raw / 2**20:5.1f} MiB raw, {nodes:7.0f} nodes: "
              f"style+layout per click median {statistics.median(work) * 1000:4.0f} ms; wall with polling "
              f"{statistics.median(times):.3f} s")


def whatwg_multi_figures(browser, base: str) -> dict[str, float]:
    figures = {"home shown": first_page(browser, base + "whatwg.org/index.html",
                                        lambda p: p.locator("h1, h2").first)[0]}
    context, page = throttled_page(browser)
    try:
        page.goto(base + "whatwg.org/index.html")
        for name, href, path in (("click -> FAQ", "faq.html", "**/faq.html"),
                                 ("click -> home", "index.html", "**/whatwg.org/index.html")):
            start = time.perf_counter()
            page.locator(f"a[href='{href}']").first.click(no_wait_after=True)
            page.wait_for_url(path, wait_until="commit")
            page.locator("h1, h2").first.wait_for(state="visible")
            figures[name] = time.perf_counter() - start
    finally:
        context.close()
    return figures


def whatwg_one_figures(browser, base: str) -> dict[str, float]:
    section = lambda slug: lambda p: p.locator(f"#p-{slug} :is(h1, h2)").first  # noqa: E731
    figures = {"first section shown": first_page(browser, base, section("home"))[0],
               "#p-whatwg-org shown": first_page(browser, base + "#p-whatwg-org", section("whatwg-org"))[0]}
    context, page = throttled_page(browser)
    try:
        start = time.perf_counter()
        page.goto(base + "#p-whatwg-org", wait_until="load")
        figures["whole document loaded"] = time.perf_counter() - start
        for name, slug, back in (("click -> FAQ", "whatwg-org-faq", "whatwg-org"),
                                 ("click -> home", "whatwg-org", "whatwg-org-faq")):
            start = time.perf_counter()
            page.locator(f"#p-{back} a[href='#p-{slug}']").first.click(no_wait_after=True)
            section(slug)(page).wait_for(state="visible")
            figures[name] = time.perf_counter() - start
    finally:
        context.close()
    return figures


def main() -> None:
    from playwright.sync_api import sync_playwright

    from tests.browser import CHROMIUM_ARGS

    runs = int(sys.argv[sys.argv.index("--runs") + 1]) if "--runs" in sys.argv else 3
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS, headless=True)
        try:
            multi, one = build_both(Path(tmp))
            with serve.start(multi) as m, serve.start(one) as o:
                dozen_site(browser, m.url + "index.html", o.url, runs)
            if "--whatwg" in sys.argv:
                whatwg(browser, Path(tmp))
        finally:
            browser.close()


if __name__ == "__main__":
    main()
