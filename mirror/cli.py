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


@main.group("balance")
def balance_group() -> None:
    """One onion address served by several machines (Onionbalance)."""


@balance_group.command("init")
@click.option("--dir", "directory", type=click.Path(path_type=Path),
              help="Where to write the keys and config  [default: ~/.local/state/mirror/balance].")
@click.option("--backends", "count", type=click.IntRange(0, 10), default=0, help="New backends to make keys for.")
@click.option("--backend", "addresses", multiple=True, metavar="ADDRESS.onion", help="An existing backend (repeat).")
def balance_init_command(directory: Path | None, count: int, addresses: tuple[str, ...]) -> None:
    """Create the frontend identity, Onionbalance's config.yaml and each backend's files."""
    from mirror import balance

    plan = balance.init(directory or balance.default_directory(), new_backends=count, addresses=addresses)
    click.echo("\n".join(plan.instructions()))


@balance_group.command("run")
@click.option("--config", "config_file", type=click.Path(path_type=Path),
              help="Onionbalance's config.yaml  [default: ~/.local/state/mirror/balance/config.yaml].")
@click.option("--control-port", type=int, help="The ControlPort of the tor Onionbalance publishes through.")
@click.option("--control-socket", type=click.Path(path_type=Path), help="Or that tor's ControlSocket.")
@click.option("--timeout", type=float, default=600, show_default=True, help="Seconds to the first upload.")
def balance_run_command(config_file: Path | None, control_port, control_socket, timeout: float) -> None:
    """Run Onionbalance for the frontend and keep it running until Ctrl-C."""
    from mirror import balance, balancer
    from mirror.cli_balance import Reporter, stop_on_signal

    with Reporter() as report:
        balancer.run(config_file or balance.default_directory() / balance.CONFIG, stop_on_signal(), on_event=report,
                     control_port=control_port, control_socket=control_socket, timeout=timeout)
    click.echo("Stopped.")
