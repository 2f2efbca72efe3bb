"""The command line's side of ``mirror fetch``: sizes, options, the way out (a proxy or a tor), restarting.

Owns: turning what a user typed into ``fetch.Options`` and a proxy URL, with a sentence for what is wrong.
"""

from __future__ import annotations

import contextlib
import re
import shutil
from pathlib import Path

from mirror import fetch
from mirror.errors import FetchError
from mirror.fetch_http import Limits


def parse_size(text: str | None) -> int | None:
    """``50M`` -> 52428800; plain digits are bytes; K, M, G are powers of 1024."""
    if text is None:
        return None
    found = re.fullmatch(r"\s*(\d+)\s*([kmg]?)i?b?\s*", text, re.I)
    if not found:
        raise FetchError(f"{text!r} is not a size; write bytes or a number with K, M or G (such as 50M).")
    return int(found.group(1)) * 1024 ** " kmg".index(found.group(2).lower() or " ")


def restart(folder: Path) -> None:
    """Forget the crawl kept in ``folder`` (its state and its downloaded site)."""
    for name in (fetch.STATE, f"{fetch.STATE}-wal", f"{fetch.STATE}-shm"):
        (Path(folder) / name).unlink(missing_ok=True)
    shutil.rmtree(Path(folder) / fetch.SITE, ignore_errors=True)


def options_from(*, proxy, max_bytes, max_size, timeout, retries, rate, ignore_robots, **rest) -> fetch.Options:
    """Options from the command line's names (sizes as text)."""
    limits = Limits(read_timeout=timeout, retries=retries, rate=rate, max_size=parse_size(max_size))
    return fetch.Options(proxy=proxy, max_bytes=parse_size(max_bytes), robots=not ignore_robots,
                         limits=limits, **{k: tuple(v) if isinstance(v, (list, tuple)) else v for k, v in rest.items()})


@contextlib.contextmanager
def connection(tor: bool, proxy: str | None, folder: Path, dir_authorities: tuple[str, ...] = ()):
    """Yield the proxy URL to crawl through: ``proxy``, a tor launched for the crawl (on the private
    network of ``dir_authorities`` if given), or None."""
    tor = tor or bool(dir_authorities)
    if tor and proxy:
        raise FetchError("--tor and --proxy both name a way out; give one.")
    if proxy and not proxy.startswith(("socks5h://", "http://", "https://")):
        raise FetchError(f"--proxy {proxy}: use socks5h://HOST:PORT, so names are resolved through the proxy "
                         "and never by the local resolver.")
    if not tor:
        yield proxy
        return
    from mirror import fetch_tor

    with fetch_tor.socks_proxy(Path(folder) / "tor", dir_authorities) as url:
        yield url
