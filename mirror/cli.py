"""The command line: each command parses its options, calls one library function and prints.

No logic lives here. Library code raises ``MirrorError`` (a ``click.ClickException``), which click
prints as ``Error: <sentence>`` with exit status 1; usage errors exit 2.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path

import click


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("-v", "--verbose", count=True, help="More detail (repeat for debug).")
@click.option("-q", "--quiet", is_flag=True, help="Only errors.")
def main(verbose: int, quiet: bool) -> None:
    """Turn a site into a Tor-friendly static mirror: no script, no tracker, only local clicks."""
    level = logging.ERROR if quiet else (logging.WARNING, logging.INFO, logging.DEBUG)[min(verbose, 2)]
    logging.basicConfig(level=level, format="%(message)s")
    for handler in logging.getLogger().handlers:
        handler.setLevel(level)  # stem sets its own logger to TRACE when imported


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


def _interrupt_on_sigterm() -> None:
    """Make SIGTERM end a long-running command like Ctrl-C does: cleanly, wherever it is."""
    import signal

    def interrupt(*_):
        signal.signal(signal.SIGTERM, signal.SIG_IGN)  # one is enough; let the cleanup finish
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupt)


@main.command("testnet")
def testnet_command() -> None:
    """Run a private Tor network on 127.0.0.1 until Ctrl-C (for tests and offline demos)."""
    from mirror.testnet import Testnet

    _interrupt_on_sigterm()
    try:
        with Testnet() as net:
            click.echo(f"Private Tor network up in {net.root}: SOCKS 127.0.0.1:{net.socks_port}")
            click.echo("Join it with these torrc lines:\n" + "\n".join(f"DirAuthority {line}"
                                                                     for line in net.dir_authority_lines()))
            threading.Event().wait()
    except KeyboardInterrupt:
        click.echo("Stopped.")


@main.command("onion")
@click.argument("build_dir", type=click.Path(path_type=Path), default=Path("build/site"))
@click.option("--testnet", is_flag=True, help="Publish into a private Tor network on 127.0.0.1 (offline demo).")
@click.option("--key", "key_file", type=click.Path(path_type=Path),
              help="Keep the same .onion address: tor's hs_ed25519_secret_key file (created 0600 if missing).")
@click.option("--private", is_flag=True, help="Require v3 client authorization; prints the reader's key.")
@click.option("--control-port", type=int, help="Attach to a running tor's ControlPort instead of launching one.")
@click.option("--control-socket", type=click.Path(path_type=Path), help="Attach to a running tor's ControlSocket.")
@click.option("--password", envvar="MIRROR_TOR_PASSWORD", help="Control password (or MIRROR_TOR_PASSWORD).")
@click.option("--timeout", type=float, default=120, show_default=True, help="Seconds to bootstrap and publish.")
def onion_command(build_dir: Path, testnet: bool, key_file, private, control_port, control_socket, password,
                  timeout) -> None:
    """Serve BUILD_DIR and publish it as a Tor v3 onion service until Ctrl-C."""
    from mirror import onion
    from mirror.cli_onion import Reporter

    _interrupt_on_sigterm()
    try:
        with Reporter() as report:
            onion.run(build_dir, threading.Event(), testnet=testnet, on_event=report, key_file=key_file,
                      private=private, control_port=control_port, control_socket=control_socket,
                      password=password, timeout=timeout)
    except KeyboardInterrupt:
        click.echo("Stopped.")
