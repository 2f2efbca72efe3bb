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


@main.command("check")
@click.argument("directory", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the findings as JSON.")
@click.option("--strict-links", is_flag=True, help="Count links that leave the mirror as errors.")
@click.option("--show-links", is_flag=True, help="List each link that leaves the mirror (else only counted).")
@click.pass_context
def check_command(ctx: click.Context, directory: Path, as_json: bool, strict_links: bool,
                  show_links: bool) -> None:
    """Audit DIRECTORY: no script, no remote load, no form, no broken link. Exit 1 on any error."""
    from mirror import audit

    report = audit.audit_dir(directory, strict_links=strict_links)
    click.echo(audit.format_json(report) if as_json else audit.format_text(report, show_notes=show_links))
    ctx.exit(1 if report.errors else 0)


@main.command("serve")
@click.argument("directory", type=click.Path(path_type=Path), default=Path("build/site"))
@click.option("--host", default="127.0.0.1", show_default=True, help="Loopback address to listen on.")
@click.option("--port", type=click.IntRange(0, 65535), default=0, show_default=True,
              help="TCP port; 0 picks a free one.")
@click.option("--socket", "socket_path", type=click.Path(path_type=Path),
              help="Serve on this unix socket instead of TCP (for tor's HiddenServicePort 80 unix:PATH).")
@click.option("--engine", type=click.Choice(["mirror", "nginx"]), default="mirror", show_default=True,
              help="The embedded server, or Debian's nginx run with a hardened config of its own.")
@click.option("--access-log", is_flag=True,
              help="Log method, path and status of each request (never addresses or times).")
@click.option("--i-understand-this-exposes-the-server", "allow_public", is_flag=True,
              help="Allow a non-loopback --host. An onion service's backend reachable from the network "
                   "can reveal its operator.")
def serve_command(directory: Path, host: str, port: int, socket_path: Path | None, engine: str,
                  access_log: bool, allow_public: bool) -> None:
    """Serve the build DIRECTORY until Ctrl-C or SIGTERM (loopback only, no access log by default)."""
    from mirror import serve

    def ready(server) -> None:
        click.echo(f"Serving {directory} at {server.where} (Ctrl-C stops).")

    serve.serve_forever(directory, host=host, port=port, socket_path=socket_path, allow_public=allow_public,
                        access_log=access_log, engine=engine, ready=ready)


@main.command("zip")
@click.argument("build_dir", type=click.Path(path_type=Path), default=Path("build/site"))
@click.option("-o", "--out", type=click.Path(path_type=Path),
              help="The zip to write [default: BUILD_DIR.zip].")
@click.option("--key", type=click.Path(path_type=Path),
              help="Sign with this tor hs_ed25519_secret_key or HiddenServiceDir (the onion's identity) "
              "[default: mirror's own key].")
def zip_command(build_dir: Path, out: Path | None, key: Path | None) -> None:
    """Pack the audited BUILD_DIR into a reproducible zip with a signed SHA256SUMS."""
    from mirror import pack

    result = pack.pack(build_dir, out, key)
    if result.key_created:
        click.echo(f"Made a new signing key at {result.key_path} (keep it; it is who signs your zips).")
    click.echo(f"Wrote {result.out}: {result.files} file(s), {result.bytes_out:,} bytes, "
               f"signed by {result.signer}")
    click.echo(f"sha256 {result.sha256}")


@main.command("verify")
@click.argument("archive", type=click.Path(path_type=Path))
@click.option("--onion", help="Require the signer to be this onion address.")
@click.option("--extract", type=click.Path(path_type=Path),
              help="Unpack into this new or empty folder if all passed.")
def verify_command(archive: Path, onion: str | None, extract: Path | None) -> None:
    """Check ARCHIVE's signature, contents and safety; print one line per problem (exit 1 on any)."""
    from mirror import verify

    report = verify.verify(archive, onion=onion, extract=extract)
    for problem in report.problems:
        click.echo(f"{archive}: {problem}")
    if not report.ok:
        raise SystemExit(1)
    click.echo(f"{archive}: OK, {report.files} file(s), {report.bytes:,} bytes, signed by {report.signer}")
    if report.extracted:
        click.echo(f"Extracted to {report.extracted}/")


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
@click.option("--pow", "pow_defenses", is_flag=True, help="Turn on tor's proof-of-work defence against floods.")
@click.option("--balance-backend", metavar="FRONTEND.onion",
              help="Publish as an Onionbalance backend of FRONTEND (with --key from `mirror balance init`).")
def onion_command(build_dir: Path, testnet: bool, key_file, private, control_port, control_socket, password,
                  timeout, pow_defenses: bool, balance_backend: str | None) -> None:
    """Serve BUILD_DIR and publish it as a Tor v3 onion service until Ctrl-C."""
    from mirror import onion
    from mirror.cli_onion import Reporter

    _interrupt_on_sigterm()
    try:
        with Reporter() as report:
            onion.run(build_dir, threading.Event(), testnet=testnet, on_event=report, key_file=key_file,
                      private=private, control_port=control_port, control_socket=control_socket,
                      password=password, timeout=timeout, pow_defenses=pow_defenses,
                      balance_backend=balance_backend)
    except KeyboardInterrupt:
        click.echo("Stopped.")


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
    from mirror.cli_balance import Reporter

    _interrupt_on_sigterm()
    try:
        with Reporter() as report:
            balancer.run(config_file or balance.default_directory() / balance.CONFIG, threading.Event(),
                         on_event=report, control_port=control_port, control_socket=control_socket, timeout=timeout)
    except KeyboardInterrupt:
        click.echo("Stopped.")
