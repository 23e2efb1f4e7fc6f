"""The web state replicas share when `database_url` is set: the rate limiter's token
buckets (ui/web/rate_limit.py RateLimiter: per-client limits and console login
lockouts that hold across replicas) and the console's session revocations and
signing secret (ui/web/console/auth.py Sessions: a session made on one replica is
valid on another, and a logout anywhere revokes it everywhere).

Its tables live in the `web` store (a schema of the PostgreSQL database). Without
a database URL there is no WebState: the limiter and the sessions keep today's
in-process state. Client identifiers are stored only as the store's keyed hash.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from qa.database import client_hash, open_database

__all__ = ["WebState"]

SCHEMA_VERSION = 1
SCHEMA = """
CREATE TABLE IF NOT EXISTS rate_buckets (
    client TEXT NOT NULL,
    action TEXT NOT NULL,
    tokens REAL NOT NULL,
    at REAL NOT NULL,
    PRIMARY KEY (client, action)
);
CREATE INDEX IF NOT EXISTS rate_buckets_at ON rate_buckets (at);
CREATE TABLE IF NOT EXISTS revoked_sessions (
    nonce TEXT PRIMARY KEY,
    expires_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS revoked_sessions_expiry ON revoked_sessions (expires_at);
"""


class WebState:
    """Token buckets and session revocations in one database store (thread-safe:
    every call is its own short transaction). Times are wall-clock seconds, since
    replicas compare them."""

    def __init__(self, target: str | Path, *, clock: Callable[[], float] = time.time) -> None:
        self.database = open_database(target, "web state", store="web")
        self.database.prepare()
        self.clock = clock
        self._secret = self.database.create(SCHEMA, SCHEMA_VERSION)

    @classmethod
    def from_settings(cls, settings: object) -> WebState | None:
        """The shared state of `database_url`, or None without one (in-memory state)."""
        url = str(getattr(settings, "database_url", "") or "")
        return cls(url) if url else None

    # --- token buckets ------------------------------------------------------------------

    def take(self, client: str, action: str, burst: int, refill_seconds: float, *,
             cost: float = 1.0) -> float:
        """Take one token from (client, action)'s bucket of `burst` tokens refilled one
        per `refill_seconds`: 0.0 when taken, else the seconds until one is there (and
        nothing taken); a `cost` of -1 gives one back (up to a full bucket). One row lock
        per bucket: replicas never lose a take."""
        now, key = self.clock(), client_hash(self._secret, client)
        with self.database.transaction("ROWS") as con:
            con.execute("INSERT OR IGNORE INTO rate_buckets VALUES (?, ?, ?, ?)",
                        (key, action, float(burst), now))
            row = con.execute("SELECT tokens, at FROM rate_buckets WHERE client = ? AND"
                              " action = ?" + self.database.lock_rows, (key, action)).fetchone()
            tokens = _refilled(row, burst, refill_seconds, now)
            wait = 0.0
            if tokens < cost:
                wait = (cost - tokens) * refill_seconds
            else:
                tokens = min(tokens - cost, float(burst))
            con.execute("UPDATE rate_buckets SET tokens = ?, at = ? WHERE client = ?"
                        " AND action = ?", (tokens, now, key, action))
        return wait

    def prune(self, idle_seconds: float) -> int:
        """Forget buckets untouched for `idle_seconds` (long enough to be full again:
        a forgotten bucket starts full, so nothing changes)."""
        with self.database.transaction("ROWS") as con:
            cur = con.execute("DELETE FROM rate_buckets WHERE at < ?",
                              (self.clock() - idle_seconds,))
            con.execute("DELETE FROM revoked_sessions WHERE expires_at <= ?", (self.clock(),))
            return int(cur.rowcount)

    # --- console sessions ----------------------------------------------------------------

    def session_secret(self) -> bytes:
        """The session-signing secret every replica shares (made by the first)."""
        return self.database.secret("session_secret")

    def revoke(self, nonce: str, expires_at: float) -> None:
        """Revoke a session everywhere until it would have expired anyway."""
        with self.database.transaction("ROWS") as con:
            con.execute("DELETE FROM revoked_sessions WHERE expires_at <= ?", (self.clock(),))
            con.execute("INSERT OR IGNORE INTO revoked_sessions VALUES (?, ?)",
                        (nonce, float(expires_at)))

    def is_revoked(self, nonce: str) -> bool:
        with self.database.connect() as con:
            return con.execute("SELECT 1 FROM revoked_sessions WHERE nonce = ?",
                               (nonce,)).fetchone() is not None


def _refilled(row: Any, burst: int, refill_seconds: float, now: float) -> float:
    tokens, last = float(row[0]), float(row[1])
    elapsed = max(0.0, now - last)  # another replica's clock may be a little ahead
    return min(float(burst), tokens + elapsed / refill_seconds)
