"""Short-lived session tokens for the dashboard: issued by POST /api/session after a password login.

Kept in memory only, by their SHA-256 (a memory dump does not hand out live tokens): a restart of
central logs every dashboard out, which then shows its login form again. A session stands for its user:
the user row is read on every request, so revoking the user ends its sessions at once.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from central.api.expiring_tokens import ExpiringTokens

SESSION_PREFIX = "session:"
"""Session tokens start with this; user names cannot hold ':', so it never reads as a ``<user>.<secret>`` token."""


@dataclass(frozen=True)
class Session:
    """Who a session token stands for and until when."""

    user: str
    expires_at: datetime


class SessionTokens:
    """Live dashboard sessions: one IOC shift long by default."""

    def __init__(self, ttl: timedelta = timedelta(hours=12), max_sessions: int = 10_000) -> None:
        self.ttl = ttl
        self._tokens: ExpiringTokens[Session] = ExpiringTokens(SESSION_PREFIX, ttl, max_sessions)

    def issue(self, user: str, now: datetime) -> tuple[str, Session]:
        """A fresh token for ``user``, valid for ``ttl`` from ``now``."""
        session = Session(user, now + self.ttl)
        token, _expires = self._tokens.issue(session, now)
        return token, session

    def lookup(self, token: str, now: datetime) -> Session | None:
        """The live session of a token, or None if unknown or expired."""
        return self._tokens.lookup(token, now)

    def end(self, token: str) -> bool:
        """Forget a session (logout); False if it was not live."""
        return self._tokens.end(token)
