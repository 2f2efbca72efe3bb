"""The resumable state of a crawl: one SQLite database in WAL mode inside the crawl folder.

Owns: what the crawl knows about every URL (found, queued, done, redirect, skipped, error) and the
bodies it downloaded. Why SQLite in WAL mode rather than an append-only journal: a finished download is
one transaction that stores the body, marks the URL done and records the links it found, so a SIGKILL
at any moment leaves either all of that or none of it (committed WAL frames survive the death of the
process; ``synchronous=NORMAL`` only risks the last commits on a power cut, never corruption). Resuming
is then a query, not a replay, and the trap caps and the queue are indexed queries. Only the crawl's
coordinating thread touches the connection.

States: ``found`` (seen, waiting for its depth's turn) -> ``queued`` (admitted) -> ``done`` | ``redirect``
| ``skipped`` | ``error``. ``reason`` says why for the last three (and the target of a redirect).
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

SCHEMA = """
CREATE TABLE IF NOT EXISTS url (
    url TEXT PRIMARY KEY, depth INTEGER NOT NULL, kind TEXT NOT NULL, state TEXT NOT NULL,
    reason TEXT, status INTEGER, type TEXT, charset TEXT, note TEXT, size INTEGER, sha256 TEXT,
    pattern TEXT, referrer TEXT);
CREATE INDEX IF NOT EXISTS url_state ON url(state, depth);
CREATE INDEX IF NOT EXISTS url_pattern ON url(pattern, state);
CREATE TABLE IF NOT EXISTS body (url TEXT PRIMARY KEY, data BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS counter (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
"""
FINAL = ("done", "redirect", "skipped", "error")


class State:
    """The crawl database; every public method that writes is one transaction."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.executescript(SCHEMA)
        self.db.execute("UPDATE url SET state='found' WHERE state='queued'")

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> State:
        self.db.execute("BEGIN IMMEDIATE")
        return self

    def __exit__(self, kind, value, tb) -> None:
        self.db.execute("ROLLBACK" if kind else "COMMIT")

    # -- meta and counters --------------------------------------------------------------------------
    def meta(self, key: str) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        return row[0] if row else None

    def set_meta(self, key: str, value: str) -> None:
        self.db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, value))

    def add(self, key: str, amount: int) -> None:
        self.db.execute("INSERT INTO counter VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value=value+?",
                        (key, amount, amount))

    def counter(self, key: str) -> int:
        row = self.db.execute("SELECT value FROM counter WHERE key=?", (key,)).fetchone()
        return row[0] if row else 0

    # -- URLs ---------------------------------------------------------------------------------------
    def found(self, url: str, depth: int, kind: str, pattern: str, referrer: str | None) -> bool:
        """Record a URL seen for the first time (True), or lower the depth of a waiting one (False)."""
        cursor = self.db.execute("INSERT OR IGNORE INTO url (url, depth, kind, state, pattern, referrer) "
                                 "VALUES (?, ?, ?, 'found', ?, ?)", (url, depth, kind, pattern, referrer))
        if cursor.rowcount:
            return True
        self.db.execute("UPDATE url SET depth=?, kind=CASE WHEN ?='page' THEN 'page' ELSE kind END "
                        "WHERE url=? AND state='found' AND depth>?", (depth, kind, url, depth))
        return False

    def known(self, url: str) -> bool:
        return self.db.execute("SELECT 1 FROM url WHERE url=?", (url,)).fetchone() is not None

    def next_depth(self) -> int | None:
        """The lowest depth with pages waiting."""
        return self.db.execute("SELECT MIN(depth) FROM url WHERE state='found' AND kind='page'").fetchone()[0]

    def waiting(self, depth: int) -> list[tuple[str, str]]:
        """(url, pattern) of the pages found at ``depth``, in a fixed order (caps cut the same way)."""
        return self.db.execute("SELECT url, pattern FROM url WHERE state='found' AND kind='page' AND depth=? "
                               "ORDER BY url", (depth,)).fetchall()

    def waiting_assets(self) -> list[tuple[str, int]]:
        """Assets found but not admitted (a crawl stopped between the two)."""
        return self.db.execute("SELECT url, depth FROM url WHERE state='found' AND kind='asset' "
                               "ORDER BY url").fetchall()

    def admit(self, url: str) -> None:
        self.db.execute("UPDATE url SET state='queued' WHERE url=?", (url,))

    def admitted(self, *, kind: str | None = None, pattern: str | None = None) -> int:
        """How many URLs (of a kind, or of a pattern) were admitted so far."""
        query = "SELECT COUNT(*) FROM url WHERE state IN ('queued', 'done', 'redirect', 'error')"
        args: tuple = ()
        if kind:
            query, args = query + " AND kind=?", (kind,)
        if pattern:
            query, args = query + " AND pattern=?", args + (pattern,)
        return self.db.execute(query, args).fetchone()[0]

    def redirect_target(self, url: str) -> str | None:
        row = self.db.execute("SELECT reason FROM url WHERE url=? AND state='redirect'", (url,)).fetchone()
        return row[0] if row else None

    def row(self, url: str) -> tuple | None:
        return self.db.execute("SELECT depth, kind, state FROM url WHERE url=?", (url,)).fetchone()

    def finish(self, url: str, state: str, reason: str | None = None, **fields) -> None:
        names = ", ".join(f"{name}=?" for name in fields)
        self.db.execute(f"UPDATE url SET state=?, reason=?{', ' if fields else ''}{names} WHERE url=?",
                        (state, reason, *fields.values(), url))

    def store(self, url: str, data: bytes) -> None:
        self.db.execute("INSERT OR REPLACE INTO body VALUES (?, ?)", (url, data))

    def body(self, url: str) -> bytes:
        return self.db.execute("SELECT data FROM body WHERE url=?", (url,)).fetchone()[0]

    def count(self, *states: str) -> int:
        marks = ",".join("?" * len(states))
        return self.db.execute(f"SELECT COUNT(*) FROM url WHERE state IN ({marks})", states).fetchone()[0]

    def done(self) -> list[tuple[str, str, str | None, str | None]]:
        """(url, type, charset, note) of every downloaded URL, sorted."""
        return self.db.execute("SELECT url, type, charset, note FROM url WHERE state='done' "
                               "ORDER BY url").fetchall()

    def redirects(self) -> list[tuple[str, str]]:
        return self.db.execute("SELECT url, reason FROM url WHERE state='redirect' ORDER BY url").fetchall()

    def outcomes(self) -> list[tuple[str, str, str, str | None]]:
        """(state, reason, url, kind) of every URL not downloaded, plus charset notes, sorted."""
        rows = self.db.execute("SELECT state, reason, url, kind FROM url WHERE state IN ('skipped', 'error') "
                               "UNION ALL SELECT 'warning', note, url, kind FROM url WHERE note IS NOT NULL "
                               "ORDER BY 1, 2, 3").fetchall()
        return rows

    def totals(self) -> dict[str, int]:
        rows = self.db.execute("SELECT type LIKE 'text/html%' OR type LIKE 'application/xhtml%', COUNT(*), "
                               "COALESCE(SUM(size), 0) FROM url WHERE state='done' GROUP BY 1").fetchall()
        pages = sum(n for html, n, _ in rows if html)
        return {"pages": pages, "assets": sum(n for _, n, _ in rows) - pages,
                "bytes": sum(b for _, _, b in rows)}
