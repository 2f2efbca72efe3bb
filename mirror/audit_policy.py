"""A page's Content-Security-Policy, as the audit judges it: does it forbid script and remote loads?

Owns: reading a policy string (from a <meta http-equiv="Content-Security-Policy">) and saying, in a
clause a person reads, what it still allows. Never parses HTML (audit_rules hands it the policy).

A policy passes when it has default-src, every script directive (or default-src in their place) is
exactly 'none', and every fetch directive names only local sources: 'none', 'self', data:, hashes,
nonces and the inline keywords.
"""

from __future__ import annotations

FETCH_DIRECTIVES = ("default-src", "child-src", "connect-src", "font-src", "frame-src", "img-src",
                    "manifest-src", "media-src", "object-src", "prefetch-src", "script-src", "script-src-elem",
                    "script-src-attr", "style-src", "style-src-elem", "style-src-attr", "worker-src",
                    "fenced-frame-src")
LOCAL_SOURCES = frozenset({"'none'", "'self'", "'unsafe-inline'", "'unsafe-hashes'", "'report-sample'",
                           "data:"})
SAFE_CSP = "default-src 'none'; style-src 'self'; img-src 'self'"


def csp_problem(policy: str) -> str | None:
    """None when ``policy`` forbids script and every remote load; else what it allows, as a clause."""
    directives: dict[str, list[str]] = {}
    for part in policy.split(";"):
        words = part.split()
        if words and words[0].lower() not in directives:
            directives[words[0].lower()] = [w.lower() for w in words[1:]]
    if "default-src" not in directives:
        return "has a Content-Security-Policy without default-src, so anything it does not name may load"
    for name in ("script-src-elem", "script-src-attr", "script-src"):
        if name in directives and directives[name] != ["'none'"]:
            return f"has a Content-Security-Policy that allows script ({name} {' '.join(directives[name])})"
    if "script-src" not in directives and directives["default-src"] != ["'none'"]:
        return "has a Content-Security-Policy whose default-src allows script; add script-src 'none'"
    for name in FETCH_DIRECTIVES:
        remote = [s for s in directives.get(name, []) if not _local_source(s)]
        if remote:
            return f"has a Content-Security-Policy that allows remote loads ({name} {' '.join(remote)})"
    return None


def _local_source(source: str) -> bool:
    return source in LOCAL_SOURCES or source.startswith(("'sha256-", "'sha384-", "'sha512-", "'nonce-"))
