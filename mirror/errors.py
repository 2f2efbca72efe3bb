"""The one exception tree of mirror.

Every error a user can cause is a ``MirrorError``: its message is the sentence the user reads, and the
CLI prints it as ``Error: ...`` and exits 1 (click does that for ``ClickException``). Library code raises
these and never prints; anything else escaping is a bug and may show a traceback.

    MirrorError (click.ClickException)
     +-- SiteError          site/ is broken: names the file (and line)
     +-- BuildError         a build could not be written; the previous build is untouched
     +-- AuditFailed        a build directory failed the audit (carries the findings)
     +-- ServeError         the static server could not start or was refused an unsafe address
     +-- TorError           tor could not be launched, reached or bootstrapped
     |    +-- PublishError  the onion service was not published in time
     +-- KeyFileError       a key file is missing, malformed or readable by others
     +-- PackError          a zip could not be written
     +-- VerifyError        an archive failed verification
     +-- FetchError         a live site could not be crawled
     +-- BalanceError       a balanced (Onionbalance) setup could not be created or run
"""

from __future__ import annotations

import click


class MirrorError(click.ClickException):
    """Base of every error a user can cause; the message is a full sentence."""

    exit_code = 1


class SiteError(MirrorError):
    """The site source is broken; the message names the file and, where known, the line."""

    def __init__(self, path, message: str, line: int | None = None):
        where = f"{path}:{line}" if line else f"{path}"
        super().__init__(f"{where}: {message}")
        self.path = path
        self.line = line


class BuildError(MirrorError):
    """A build could not be completed; the previous build is left as it was."""


class AuditFailed(MirrorError):
    """A build directory failed the audit."""

    def __init__(self, message: str, findings=()):
        super().__init__(message)
        self.findings = list(findings)


class ServeError(MirrorError):
    """The static server could not start."""


class TorError(MirrorError):
    """Tor could not be launched, reached or bootstrapped."""


class PublishError(TorError):
    """The onion service was not published in time."""


class KeyFileError(MirrorError):
    """A key file is missing, malformed or readable by group or others."""


class PackError(MirrorError):
    """A zip archive could not be written."""


class VerifyError(MirrorError):
    """An archive failed verification."""


class FetchError(MirrorError):
    """A live site could not be crawled."""


class BalanceError(MirrorError):
    """A balanced setup (Onionbalance) could not be created or run; the message says what to change."""
