"""The terminal side of `mirror balance`: what init wrote and where it goes, and run's progress.

Owns: turning balancer.py's events into output. Progress goes to stderr, the frontend address and
instructions to stdout. No logic about Onionbalance or tor lives here.
"""

from __future__ import annotations

import click
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn

from mirror.balancer import Running


class Reporter:
    """The ``on_event`` callback of ``balancer.run``, as a context manager that closes its progress bar."""

    def __init__(self):
        self.progress = Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.fields[note]}"),
                                 console=Console(stderr=True), transient=True)
        self.task: int | None = None
        self.announced = False

    def __enter__(self) -> Reporter:
        self.progress.start()
        return self

    def __exit__(self, *exc) -> None:
        self.progress.stop()

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

