"""The command line: each command parses its options, calls one library function and prints.

No logic lives here. Library code raises ``MirrorError`` (a ``click.ClickException``), which click
prints as ``Error: <sentence>`` with exit status 1; usage errors exit 2.
"""

from __future__ import annotations

import logging
import sys
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
@click.option("--from", "source", type=click.Path(path_type=Path, file_okay=False),
              help="Sanitize an existing static site (a folder of HTML, CSS, images) instead of --site.")
@click.option("--base-url", help="With --from: the site's own address; its absolute links become local.")
@click.option("--external-links", type=click.Choice(["text", "mark", "keep"]), default="mark",
              show_default=True,
              help="With --from: links leaving the mirror become text, stay marked with their host, or stay.")
@click.option("-o", "--out", type=click.Path(path_type=Path), default=Path("build/site"), show_default=True,
              help="The build directory to write (replaced atomically).")
@click.option("--single-document", is_flag=True,
              help="Join every page into one index.html: following links between pages never reaches the server.")
def build_command(site_dir: Path, source: Path | None, base_url: str | None, external_links: str,
                  out: Path, single_document: bool) -> None:
    """Render SITE (or sanitize --from DIR) into OUT, audit it, and swap it in only if it passes."""
    from mirror import build

    if source is None and single_document:
        from mirror import single

        click.echo("\n".join(single.build_single_site(site_dir, out).lines()))
        return
    if source is None:
        result = build.build_site(site_dir, out)
        click.echo(f"Built {len(result.files)} file(s) into {out}/ ({result.total_bytes:,} bytes).")
        return
    if single_document:
        raise click.UsageError("--single-document does not yet combine with --from; build with --site.")
    from mirror import site_import

    with click.progressbar(length=1, label="Sanitizing", file=sys.stderr) as bar:
        def progress(done: int, total: int, name: str) -> None:
            bar.length = total
            bar.update(done - bar.pos)
        report = site_import.build_from(source, out, base_url, external_links, progress)
    click.echo("\n".join(report.lines()))


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
@click.option("--retries", type=click.IntRange(0, 10), default=3, show_default=True,
              help="Retries after a timeout, 5xx or 429, with backoff.")
@click.option("--tor", is_flag=True, help="Go through tor (the one `mirror onion` launches).")
@click.option("--proxy", metavar="URL", help="Go through this proxy, e.g. socks5h://127.0.0.1:9050.")
@click.option("--dir-authority", multiple=True, metavar="LINE",
              help="With --tor: join the private network of these lines (as `mirror testnet` prints).")
def fetch_command(url, folder, out, no_build, restart, **opts) -> None:
    """Crawl the site at URL into --dir, then build it into --out."""
    from mirror import fetch, fetch_options

    if restart:
        fetch_options.restart(folder)
    with fetch_options.connection(opts.pop("tor"), opts.pop("proxy"), folder, opts.pop("dir_authority")) as proxy:
        report = fetch.crawl(url, folder, fetch_options.options_from(proxy=proxy, **opts), _progress_line())
    click.echo("\r\x1b[K" if sys.stderr.isatty() else "", err=True, nl=False)
    click.echo("\n".join(report.lines()))
    if not no_build:
        click.echo("\n".join(fetch.build_mirror(folder / fetch.SITE, report.start, out).lines()))


def _progress_line():
    def show(p) -> None:
        if sys.stderr.isatty():
            click.echo(f"\r{p.done} done, {p.queued} queued, {p.bytes:,} bytes, {p.errors} error(s)\x1b[K",
                       err=True, nl=False)
    return show
