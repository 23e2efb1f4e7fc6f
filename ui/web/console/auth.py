"""Console login: credentials, password hashes and sessions.

Users come from `settings.console_users`: comma-separated `name:password` pairs (plain
passwords of at least 12 characters, else the server refuses to start), or
`name:pbkdf2_sha256$iterations$salt$hash` (Django's format: the salt as text, the hash
base64; make one with `policy-qa console-hash NAME`). No users means no console:
there is never a default password.

Sessions are signed cookies (`user|expiry|nonce|hmac`) keyed by `settings.session_secret`
or, when that is empty, a random per-process key (a restart logs everybody out).
Logout revokes the session's nonce until it would have expired anyway. Failed sign-ins
take tokens from the app's one RateLimiter ("login": 5, then one per 5 minutes).

With `database_url` (several replicas), the key without a configured secret is the
one kept in the shared database (qa/database/shared.py), so a session made on one
replica is valid on every other; revocations are kept there too, so a logout on one
revokes the session everywhere; and the RateLimiter's buckets are shared, so login
lockouts hold across replicas.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path

from index.errors import ConfigError
from qa.database.shared import WebState
from ui.web.rate_limit import RateLimiter
from ui.web.security import same_origin

__all__ = [
    "COOKIE", "MIN_PASSWORD_CHARS", "ConsoleAuth", "Credentials", "Sessions",
    "check_password_strength",
    "hash_password", "parse_users", "same_origin", "verify_password",
]

COOKIE = "policy_qa_console"
SESSION_SECONDS = 8 * 3600.0
# beside the outbox: revoked sessions that must outlive a restart (no database_url)
SESSIONS_FILE = "console-sessions.sqlite3"
HASH_SCHEME = "pbkdf2_sha256"
DEFAULT_ITERATIONS = 600_000
MIN_ITERATIONS = 100_000  # a configured hash with fewer is refused (fast to crack)
MIN_PASSWORD_CHARS = 12
_DUMMY_PLAIN = secrets.token_hex(16)


def hash_password(password: str, *, iterations: int = DEFAULT_ITERATIONS,
                  salt: str | None = None) -> str:
    """`pbkdf2_sha256$iterations$salt$base64(hash)` for console_users."""
    if not password:
        raise ConfigError("password must not be empty")
    salt = salt or secrets.token_urlsafe(16)
    if any(c in salt for c in "$,: ") or not salt:
        raise ConfigError(
            f"salt must not be empty or contain '$', ',', ':' or spaces; got {salt!r}")
    digest = hashlib.pbkdf2_hmac("sha256", password.encode("utf-8"), salt.encode(), iterations)
    return f"{HASH_SCHEME}${iterations}${salt}${base64.b64encode(digest).decode('ascii')}"


def _check_hashed(stored: str) -> tuple[int, str, bytes]:
    parts = stored.split("$")
    try:
        if len(parts) != 4 or parts[0] != HASH_SCHEME:
            raise ValueError
        iterations, salt = int(parts[1]), parts[2]
        digest = base64.b64decode(parts[3], validate=True)
        if iterations < 1 or not salt or len(digest) != 32:
            raise ValueError
    except ValueError:
        raise ConfigError(
            f"console user password hash is malformed; expected "
            f"{HASH_SCHEME}$ITERATIONS$SALT$BASE64 (got {stored[:24]!r}...)") from None
    return iterations, salt, digest


def verify_password(password: str, stored: str) -> bool:
    """Constant-time check of a password against a plain or hashed stored value."""
    given = password.encode("utf-8", "replace")
    if stored.startswith(HASH_SCHEME + "$"):
        iterations, salt, digest = _check_hashed(stored)
        return hmac.compare_digest(
            hashlib.pbkdf2_hmac("sha256", given, salt.encode(), iterations), digest)
    # compare digests, so the comparison time does not depend on the length either
    return hmac.compare_digest(hashlib.sha256(given).digest(),
                               hashlib.sha256(stored.encode("utf-8")).digest())


def parse_users(spec: str) -> dict[str, str]:
    """`name:password,name2:pbkdf2_sha256$...` -> {name: stored}; ConfigError if malformed."""
    users: dict[str, str] = {}
    items = [item.strip() for item in (spec or "").split(",") if item.strip()]
    for number, item in enumerate(items, 1):
        name, sep, stored = item.partition(":")
        name = name.strip()
        if not sep or not name or not stored:  # named by its place: its text may be a password
            raise ConfigError(f"console_users entry {number} of {len(items)} must look like "
                              "name:password (or name:pbkdf2_sha256$...)")
        if any(c.isspace() for c in name):
            raise ConfigError(f"console_users entry {number} of {len(items)}: a user name "
                              "must not contain spaces")
        if name in users:  # else the last one would win, silently
            raise ConfigError(f"console user {name!r} is listed twice in console_users; "
                              "keep one entry per user")
        if stored.startswith(HASH_SCHEME + "$"):
            iterations = _check_hashed(stored)[0]
            if iterations < MIN_ITERATIONS:
                raise ConfigError(
                    f"console user {name!r} has a password hash of {iterations} iterations;"
                    f" use at least {MIN_ITERATIONS} (`policy-qa console-hash NAME` makes one"
                    f" of {DEFAULT_ITERATIONS})")
        else:
            check_password_strength(name, stored)
        users[name] = stored
    return users


def check_password_strength(name: str, password: str) -> None:
    """Console passwords have at least MIN_PASSWORD_CHARS characters."""
    if len(password) < MIN_PASSWORD_CHARS:
        raise ConfigError(f"console user {name!r} has a password of {len(password)} "
                          f"characters; use at least {MIN_PASSWORD_CHARS} (better, a hash "
                          "from `policy-qa console-hash NAME`)")


class Credentials:
    def __init__(self, users: Mapping[str, str]) -> None:
        self.users = dict(users)
        hashed = [s for s in self.users.values() if s.startswith(HASH_SCHEME + "$")]
        self._dummy = hashed[0] if hashed else _DUMMY_PLAIN
        self._mixed = 0 < len(hashed) < len(self.users)  # plain and hashed passwords

    @property
    def enabled(self) -> bool:
        return bool(self.users)

    def check(self, name: str, password: str) -> bool:
        """True for a configured user with the right password. An unknown name costs
        the same work as a known one, so response times do not reveal user names; with
        plain and hashed passwords mixed, a plain one costs a hash's work too."""
        stored = self.users.get(name)
        target = stored if stored is not None else self._dummy
        ok = verify_password(password, target)
        if self._mixed and not target.startswith(HASH_SCHEME + "$"):
            verify_password(password, self._dummy)  # the work of a hashed user's check
        return ok and stored is not None


class Sessions:
    """Signed, expiring, revocable session tokens; with `shared` (the replicas' web
    state) the key, when no secret is given, and the revocations are the database's."""

    def __init__(self, secret: str = "", *, ttl: float = SESSION_SECONDS,
                 clock: Callable[[], float] = time.time, shared: WebState | None = None) -> None:
        if secret:
            raw = secret.encode("utf-8")
        else:
            raw = shared.session_secret() if shared is not None else secrets.token_bytes(32)
        self._key = hashlib.sha256(b"policy-qa console session\0" + raw).digest()
        self.ttl = ttl
        self.clock = clock
        self.shared = shared
        self._revoked: dict[str, float] = {}
        self._lock = threading.Lock()

    def _sign(self, payload: str) -> str:
        return hmac.new(self._key, payload.encode("utf-8"), hashlib.sha256).hexdigest()

    def issue(self, user: str) -> str:
        payload = f"{user}|{int(self.clock() + self.ttl)}|{secrets.token_urlsafe(12)}"
        return f"{payload}|{self._sign(payload)}"

    def user(self, token: str | None) -> str | None:
        """The signed-in user, or None for a missing, forged, expired or revoked token."""
        if not token or token.count("|") != 3:
            return None
        payload, _, signature = token.rpartition("|")
        if not hmac.compare_digest(self._sign(payload), signature):
            return None
        user, expiry, nonce = payload.split("|")
        if not expiry.isdigit() or int(expiry) <= self.clock():
            return None
        if self.shared is not None:
            return None if self.shared.is_revoked(nonce) else user
        with self._lock:
            return None if nonce in self._revoked else user

    def revoke(self, token: str | None) -> None:
        if self.user(token) is None:
            return
        _, expiry, nonce, _ = token.split("|")  # type: ignore[union-attr]
        if self.shared is not None:
            self.shared.revoke(nonce, float(expiry))
            return
        now = self.clock()
        with self._lock:
            self._revoked = {n: e for n, e in self._revoked.items() if e > now}
            self._revoked[nonce] = float(expiry)


class ConsoleAuth:
    """Everything the console's login needs, built once per app from settings."""

    def __init__(self, users: Mapping[str, str], *, secret: str = "",
                 limiter: RateLimiter | None = None, sessions: Sessions | None = None) -> None:
        self.credentials = Credentials(users)
        self.limiter = limiter or RateLimiter.from_settings(object())
        self.sessions = sessions or Sessions(secret)

    @classmethod
    def from_settings(cls, settings: object, limiter: RateLimiter | None = None) -> ConsoleAuth:
        """With `database_url`, sessions (and a limiter made here) are shared. Without
        one but with a `session_secret`, a session outlives a restart, so its logout
        must too: revocations are kept in SESSIONS_FILE beside the outbox."""
        users = parse_users(getattr(settings, "console_users", ""))
        secret = getattr(settings, "session_secret", "")
        shared = WebState.from_settings(settings) if users else None
        revocations = shared
        if users and secret and shared is None and getattr(settings, "outbox", None):
            revocations = WebState(Path(settings.outbox).parent / SESSIONS_FILE)
        return cls(users, secret=secret,
                   limiter=limiter or (RateLimiter.from_settings(settings) if shared else None),
                   sessions=Sessions(secret, shared=revocations))

    @property
    def enabled(self) -> bool:
        return self.credentials.enabled

    def user_for(self, cookies: Mapping[str, str]) -> str | None:
        """The signed-in user of a request's cookies (still configured), else None."""
        user = self.sessions.user(cookies.get(COOKIE))
        return user if user is not None and user in self.credentials.users else None
