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
@click.option("--single-document", is_flag=True,
              help="Join every page into one index.html: following links between pages never reaches the server.")
def build_command(site_dir: Path, out: Path, single_document: bool) -> None:
    """Render SITE into OUT, audit it, and swap it in only if it passes."""
    from mirror import build

    if single_document:
        from mirror import single

        click.echo("\n".join(single.build_single_site(site_dir, out).lines()))
        return

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


@main.command("serve")
@click.argument("directory", type=click.Path(path_type=Path), default=Path("build/site"))
@click.option("--host", default="127.0.0.1", show_default=True, help="Loopback address to listen on.")
@click.option("--port", type=click.IntRange(0, 65535), default=0, show_default=True, help="TCP port; 0 picks a free one.")
@click.option("--socket", "socket_path", type=click.Path(path_type=Path),
              help="Serve on this unix socket instead of TCP (for tor's HiddenServicePort 80 unix:PATH).")
@click.option("--engine", type=click.Choice(["mirror", "nginx"]), default="mirror", show_default=True,
              help="The embedded server, or Debian's nginx run with a hardened config of its own.")
@click.option("--access-log", is_flag=True, help="Log method, path and status of each request (never addresses or times).")
@click.option("--i-understand-this-exposes-the-server", "allow_public", is_flag=True,
              help="Allow a non-loopback --host. An onion service's backend reachable from the network can reveal its operator.")
def serve_command(directory: Path, host: str, port: int, socket_path: Path | None, engine: str, access_log: bool,
                  allow_public: bool) -> None:
    """Serve the build DIRECTORY until Ctrl-C or SIGTERM (loopback only, no access log by default)."""
    from mirror import serve

    serve.serve_forever(directory, host=host, port=port, socket_path=socket_path, allow_public=allow_public,
                        access_log=access_log, engine=engine,
                        ready=lambda server: click.echo(f"Serving {directory} at {server.where} (Ctrl-C stops).",
                                                        nl=True))
