"""Short-lived session tokens for the dashboard: issued by POST /api/session after a password login.

Kept in memory only, by their SHA-256 (a memory dump does not hand out live tokens): a restart of
central logs every dashboard out, which then shows its login form again. A session stands for its user:
the user row is read on every request, so revoking the user ends its sessions at once.
"""

import hashlib
import secrets
import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta

SESSION_PREFIX = "session:"
"""Session tokens start with this; user names cannot hold ':', so it never reads as a ``<user>.<secret>`` token."""


@dataclass(frozen=True)
class Session:
    """Who a session token stands for and until when."""

    user: str
    expires_at: datetime


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@dataclass
class SessionTokens:
    """Live sessions by token digest; expired ones are dropped as new ones are issued."""

    ttl: timedelta = timedelta(hours=12)  # one IOC shift
    max_sessions: int = 10_000
    _live: dict[str, Session] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def issue(self, user: str, now: datetime) -> tuple[str, Session]:
        """A fresh token for ``user``, valid for ``ttl`` from ``now``."""
        token = SESSION_PREFIX + secrets.token_urlsafe(32)
        session = Session(user, now + self.ttl)
        with self._lock:
            for digest in [d for d, s in self._live.items() if s.expires_at <= now]:
                del self._live[digest]
            if len(self._live) >= self.max_sessions:
                del self._live[next(iter(self._live))]  # the oldest issued
            self._live[_digest(token)] = session
        return token, session

    def lookup(self, token: str, now: datetime) -> Session | None:
        """The live session of a token, or None if unknown or expired."""
        with self._lock:
            session = self._live.get(_digest(token))
        return session if session is not None and session.expires_at > now else None

    def end(self, token: str) -> bool:
        """Forget a session (logout); False if it was not live."""
        with self._lock:
            return self._live.pop(_digest(token), None) is not None
