"""What a crawl tells its user: progress while it runs, and the report at the end.

Owns: the Progress and Report values and the report's text. The report covers the whole crawl, resumed
runs included, since it is read from the crawl's state: pages, assets, bytes, requests, and every URL
not downloaded (skipped or failed) with its reason, plus warnings such as a corrected charset.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Progress:
    done: int
    queued: int
    bytes: int
    errors: int


@dataclass(frozen=True)
class Outcome:
    state: str   # "skipped", "error" or "warning"
    reason: str
    url: str


@dataclass(frozen=True)
class Report:
    start: str
    pages: int
    assets: int
    bytes: int
    requests: int
    seconds: float
    outcomes: tuple[Outcome, ...] = field(default_factory=tuple)

    def of(self, state: str) -> list[Outcome]:
        return [o for o in self.outcomes if o.state == state]

    def reason(self, url: str) -> str | None:
        """Why ``url`` was skipped or failed (None if it was downloaded without remark)."""
        return next((o.reason for o in self.outcomes if o.url == url), None)

    def lines(self, examples: int = 3) -> list[str]:
        """The report as lines: a summary, then one line per reason with a count and a few URLs."""
        lines = [f"{self.pages} page(s), {self.assets} asset(s), {self.bytes:,} bytes in {self.requests} "
                 f"request(s), {self.seconds:.1f} s"]
        grouped: dict[tuple[str, str], list[str]] = defaultdict(list)
        for outcome in self.outcomes:
            grouped[(outcome.state, outcome.reason)].append(outcome.url)
        for (state, reason), urls in sorted(grouped.items(), key=lambda kv: (kv[0][0], -len(kv[1]), kv[0][1])):
            shown = ", ".join(urls[:examples]) + (f", ... ({len(urls) - examples} more)"
                                                  if len(urls) > examples else "")
            lines.append(f"{state}: {reason}: {len(urls)} URL(s): {shown}")
        return lines


def build_report(state, start: str, seconds: float) -> Report:
    totals = state.totals()
    outcomes = tuple(Outcome(s, reason or "", url) for s, reason, url, _ in state.outcomes())
    return Report(start, totals["pages"], totals["assets"], totals["bytes"], state.counter("requests"),
                  seconds, outcomes)
