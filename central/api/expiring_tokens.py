"""Random bearer strings that stand for something for a while: dashboard sessions, stream tickets.

Kept in memory only, by their SHA-256 (a memory dump does not hand out live tokens); expired ones are
dropped as new ones are issued, and past ``max_live`` the oldest goes, so a login spray cannot grow memory.
"""

import hashlib
import secrets
import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Generic, TypeVar

T = TypeVar("T")


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@dataclass
class ExpiringTokens(Generic[T]):
    """Live tokens (``prefix`` + random) by digest, each standing for a value until it expires."""

    prefix: str
    ttl: timedelta
    max_live: int = 10_000
    random_bytes: int = 32
    _live: dict[str, tuple[T, datetime]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def issue(self, value: T, now: datetime) -> tuple[str, datetime]:
        """A fresh token for ``value`` and when it expires."""
        token = self.prefix + secrets.token_urlsafe(self.random_bytes)
        expires_at = now + self.ttl
        with self._lock:
            for digest in [d for d, (_v, until) in self._live.items() if until <= now]:
                del self._live[digest]
            if len(self._live) >= self.max_live:
                del self._live[next(iter(self._live))]  # the oldest issued
            self._live[_digest(token)] = (value, expires_at)
        return token, expires_at

    def lookup(self, token: str, now: datetime) -> T | None:
        """What a live token stands for; None if unknown or expired."""
        with self._lock:
            found = self._live.get(_digest(token))
        return found[0] if found is not None and found[1] > now else None

    def redeem(self, token: str, now: datetime) -> T | None:
        """Like lookup, but the token is spent by it (single use)."""
        with self._lock:
            found = self._live.pop(_digest(token), None)
        return found[0] if found is not None and found[1] > now else None

    def end(self, token: str) -> bool:
        """Forget a token (logout); False if it was not live."""
        with self._lock:
            return self._live.pop(_digest(token), None) is not None
