"""The command line: each command parses its options, calls one library function and prints.

No logic lives here. Library code raises ``MirrorError`` (a ``click.ClickException``), which click
prints as ``Error: <sentence>`` with exit status 1; usage errors exit 2.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import click


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("-v", "--verbose", count=True, help="More detail (repeat for debug).")
@click.option("-q", "--quiet", is_flag=True, help="Only errors.")
def main(verbose: int, quiet: bool) -> None:
    """Turn a site into a Tor-friendly static mirror: no script, no tracker, only local clicks."""
    level = logging.ERROR if quiet else (logging.WARNING, logging.INFO, logging.DEBUG)[min(verbose, 2)]
    logging.basicConfig(level=level, format="%(message)s")


@main.command("build")
@click.option("--site", "site_dir", type=click.Path(path_type=Path), default=Path("site"), show_default=True,
              help="The site source: site.toml, content/ and templates/.")
@click.option("--from", "source", type=click.Path(path_type=Path, file_okay=False),
              help="Sanitize an existing static site (a folder of HTML, CSS, images) instead of --site.")
@click.option("--base-url", help="With --from: the site's own address; its absolute links become local.")
@click.option("--external-links", type=click.Choice(["text", "mark", "keep"]), default="mark", show_default=True,
              help="With --from: links leaving the mirror become text, stay marked with their host, or stay.")
@click.option("-o", "--out", type=click.Path(path_type=Path), default=Path("build/site"), show_default=True,
              help="The build directory to write (replaced atomically).")
def build_command(site_dir: Path, source: Path | None, base_url: str | None, external_links: str,
                  out: Path) -> None:
    """Render SITE (or sanitize --from DIR) into OUT, audit it, and swap it in only if it passes."""
    from mirror import build

    if source is None:
        result = build.build_site(site_dir, out)
        click.echo(f"Built {len(result.files)} file(s) into {out}/ ({result.total_bytes:,} bytes).")
        return
    from mirror import site_import

    with click.progressbar(length=1, label="Sanitizing", file=sys.stderr) as bar:
        def progress(done: int, total: int, name: str) -> None:
            bar.length = total
            bar.update(done - bar.pos)
        report = site_import.build_from(source, out, base_url, external_links, progress)
    click.echo("\n".join(report.lines()))
