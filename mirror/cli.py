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
@click.option("-o", "--out", type=click.Path(path_type=Path), default=Path("build/site"), show_default=True,
              help="The build directory to write (replaced atomically).")
def build_command(site_dir: Path, out: Path) -> None:
    """Render SITE into OUT, audit it, and swap it in only if it passes."""
    from mirror import build

    result = build.build_site(site_dir, out)
    click.echo(f"Built {len(result.files)} file(s) into {out}/ ({result.total_bytes:,} bytes).")


@main.command("fetch")
@click.argument("url")
@click.option("--dir", "folder", type=click.Path(path_type=Path), default=Path("build/fetch"), show_default=True,
              help="The crawl folder: its resumable state and the downloaded site (site/<host>/...).")
@click.option("-o", "--out", type=click.Path(path_type=Path), default=Path("build/site"), show_default=True,
              help="The build directory to write from the crawl.")
@click.option("--no-build", is_flag=True, help="Only crawl; do not build.")
@click.option("--restart", is_flag=True, help="Forget the crawl kept in --dir and start again.")
@click.option("--include", multiple=True, metavar="REGEX", help="Only follow pages whose URL matches.")
@click.option("--exclude", multiple=True, metavar="REGEX", help="Never fetch URLs that match.")
@click.option("--assets-from", multiple=True, metavar="HOST", help="Also load CSS, images, fonts from HOST.")
@click.option("--max-depth", type=click.IntRange(0), help="Links to follow from the start page.")
@click.option("--max-pages", type=click.IntRange(1), help="Pages to fetch at most.")
@click.option("--max-bytes", metavar="SIZE", help="Stop fetching after this many bytes (e.g. 500M).")
@click.option("--max-size", metavar="SIZE", default="50M", show_default=True, help="Largest response kept.")
@click.option("--max-per-pattern", type=click.IntRange(1), default=100, show_default=True,
              help="URLs of one shape (digits and query values aside), against crawl traps.")
@click.option("--ignore-robots", is_flag=True, help="Do not honour robots.txt.")
@click.option("--rate", type=click.FloatRange(0), default=0, help="Requests per second per host (0: no limit).")
@click.option("--workers", type=click.IntRange(1, 16), default=4, show_default=True,
              help="Downloads at once (never more than 4 connections per host).")
@click.option("--timeout", type=click.FloatRange(0.1), default=30.0, show_default=True, help="Read timeout, s.")
@click.option("--retries", type=click.IntRange(0, 10), default=3, show_default=True)
@click.option("--tor", is_flag=True, help="Go through tor (the one `mirror onion` launches).")
@click.option("--proxy", metavar="URL", help="Go through this proxy, e.g. socks5h://127.0.0.1:9050.")
def fetch_command(url, folder, out, no_build, restart, **opts) -> None:
    """Crawl the site at URL into --dir, then build it into --out."""
    from mirror import fetch

    if restart:
        fetch.restart(folder)
    with fetch.connection(opts.pop("tor"), opts.pop("proxy"), folder) as proxy:
        report = fetch.crawl(url, folder, fetch.options_from(proxy=proxy, **opts), _progress_line())
    click.echo("\r\x1b[K" if sys.stderr.isatty() else "", err=True, nl=False)
    click.echo("\n".join(report.lines()))
    if not no_build:
        result = fetch.build_mirror(folder / fetch.SITE, report.start, out)
        click.echo(f"Built {len(result.files)} file(s) into {out}/.")


def _progress_line():
    def show(p) -> None:
        if sys.stderr.isatty():
            click.echo(f"\r{p.done} done, {p.queued} queued, {p.bytes:,} bytes, {p.errors} error(s)\x1b[K",
                       err=True, nl=False)
    return show
