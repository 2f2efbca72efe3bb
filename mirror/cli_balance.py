"""The terminal side of `mirror balance`: what init wrote and where it goes, and run's progress.

Owns: turning balancer.py's events into output. Progress goes to stderr, the frontend address and
instructions to stdout. No logic about Onionbalance or tor lives here.
"""

from __future__ import annotations

import click
from mirror.balancer import Running
from mirror.cli_onion import ProgressReporter


class Reporter(ProgressReporter):
    """The ``on_event`` callback of ``balancer.run``."""

    def __init__(self):
        super().__init__()
        self.task: int | None = None

    def __call__(self, kind: str, detail) -> None:
        if kind in ("check", "restart"):
            self.progress.console.print(f"{'Restart: ' if kind == 'restart' else ''}{detail}.")
        elif kind == "instance":
            self.progress.console.print(f"Onionbalance holds the descriptor of backend {detail}.")
        elif kind == "upload" and not self.announced:
            uploaded, tried = detail
            note = f"{uploaded} of {tried} directories"
            if self.task is None:
                self.task = self.progress.add_task("Publishing the frontend", total=max(tried, 1), note=note)
            self.progress.update(self.task, completed=uploaded, total=max(tried, 1), note=note)
        elif kind == "published":
            self._published(detail)

    def _published(self, running: Running) -> None:
        if self.task is not None:
            self.progress.remove_task(self.task)
        self.announced = True
        click.echo(f"Reachable at {running.url} (first frontend descriptor uploaded after "
                   f"{running.seconds:.1f} s; Onionbalance pid {running.pid}).\nCtrl-C stops.")

