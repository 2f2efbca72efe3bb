"""The terminal side of `mirror onion`: progress bars for bootstrap and publication, then what to tell readers.

Owns: turning onion.py's events into output. Progress goes to stderr, the address and instructions to
stdout (so a script can read them). No logic about tor lives here.
"""

from __future__ import annotations

from typing import Self

import click
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn

from mirror.onion import Published


class ProgressReporter:
    """An ``on_event`` callback with progress bars on stderr, as a context manager that closes them."""

    def __init__(self):
        self.progress = Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.fields[note]}"),
                                 console=Console(stderr=True), transient=True)
        self.announced = False

    def __enter__(self) -> Self:
        self.progress.start()
        return self

    def __exit__(self, *exc) -> None:
        self.progress.stop()


class Reporter(ProgressReporter):
    """The ``on_event`` callback of ``onion.run``."""

    def __init__(self):
        super().__init__()
        self.tasks: dict[str, int] = {}

    def __call__(self, kind: str, detail) -> None:
        if kind == "bootstrap":
            percent, summary = detail
            self._bar("Bootstrapping tor", percent, 100, summary)
        elif kind == "publish":
            uploaded, tried = detail
            self._bar("Publishing", uploaded, max(tried, 1), f"{uploaded} of {tried} uploads")
        elif kind == "published":
            self._published(detail)
        elif kind == "restart":
            click.echo(f"Restart: {detail}.", err=True)

    def _bar(self, name: str, done: int, total: int, note: str) -> None:
        if name not in self.tasks:
            self.tasks[name] = self.progress.add_task(name, total=total, note=note)
        self.progress.update(self.tasks[name], completed=done, total=total, note=note)

    def _published(self, published: Published) -> None:
        for task in self.tasks.values():
            self.progress.remove_task(task)
        self.tasks.clear()
        if self.announced:
            click.echo(f"Republished {published.address}.", err=True)
            return
        self.announced = True
        lines = [f"Reachable at {published.url}"]
        lines += ["For a clearnet HTTPS copy of this mirror, send this header:",
                  f"  {published.onion_location_header}",
                  "or put this tag in its <head>:",
                  f"  {published.onion_location_meta}"]
        if published.reader_key:
            key = published.reader_key
            lines += ["Private mirror: a reader needs this key.",
                      f"  In Tor Browser, when asked for the onion's key, paste:  {key.private}",
                      "  For a tor client, put this line in NAME.auth_private in its ClientOnionAuthDir:",
                      f"  {key.auth_private_line(published.service_id)}"]
        if published.curl_command:
            lines.append(f"Fetch it through the private network:\n  {published.curl_command}")
        click.echo("\n".join(lines))
        click.echo("Serving until Ctrl-C.", err=True)
