"""The command line: each command parses its options, calls one library function and prints.

No logic lives here. Library code raises ``MirrorError`` (a ``click.ClickException``), which click
prints as ``Error: <sentence>`` with exit status 1; usage errors exit 2.
"""

from __future__ import annotations

import logging
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
@click.option("-o", "--out", type=click.Path(path_type=Path), default=Path("build/site"), show_default=True,
              help="The build directory to write (replaced atomically).")
def build_command(site_dir: Path, out: Path) -> None:
    """Render SITE into OUT, audit it, and swap it in only if it passes."""
    from mirror import build

    result = build.build_site(site_dir, out)
    click.echo(f"Built {len(result.files)} file(s) into {out}/ ({result.total_bytes:,} bytes).")


@main.command("check")
@click.argument("directory", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the findings as JSON.")
@click.option("--strict-links", is_flag=True, help="Count links that leave the mirror as errors.")
@click.pass_context
def check_command(ctx: click.Context, directory: Path, as_json: bool, strict_links: bool) -> None:
    """Audit DIRECTORY: no script, no remote load, no form, no broken link. Exit 1 on any error."""
    from mirror import audit

    report = audit.audit_dir(directory, strict_links=strict_links)
    click.echo(audit.format_json(report) if as_json else audit.format_text(report))
    ctx.exit(1 if report.errors else 0)
