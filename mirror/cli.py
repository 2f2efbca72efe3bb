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
