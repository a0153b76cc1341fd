"""Stream tickets: how a browser's EventSource, which cannot send an Authorization header, proves who it is.

The dashboard, holding its session token in memory, asks POST /api/events/ticket for a ticket and opens
GET /api/events?ticket=... with it. A ticket is random, lives 30 s and is redeemed once: the URL may end up
in a proxy's log, but what it holds is spent by then. Long-lived tokens never go into a URL (auth.py).
"""

import hashlib
import secrets
import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from central.api.auth import Principal

TICKET_PREFIX = "ticket:"


@dataclass(frozen=True)
class StreamTicket:
    """Who a ticket stands for and until when it may be redeemed."""

    who: Principal
    expires_at: datetime


def _digest(ticket: str) -> str:
    return hashlib.sha256(ticket.encode("utf-8")).hexdigest()


@dataclass
class StreamTickets:
    """Issued, unredeemed tickets by digest; expired ones are dropped as new ones are issued."""

    ttl: timedelta = timedelta(seconds=30)
    max_tickets: int = 10_000
    _live: dict[str, StreamTicket] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def issue(self, who: Principal, now: datetime) -> str:
        """A fresh single-use ticket for ``who``."""
        ticket = TICKET_PREFIX + secrets.token_urlsafe(24)
        with self._lock:
            for digest in [d for d, t in self._live.items() if t.expires_at <= now]:
                del self._live[digest]
            if len(self._live) >= self.max_tickets:
                del self._live[next(iter(self._live))]
            self._live[_digest(ticket)] = StreamTicket(who, now + self.ttl)
        return ticket

    def redeem(self, ticket: str, now: datetime) -> Principal | None:
        """The caller a ticket stands for, once; None if unknown, spent or expired."""
        with self._lock:
            found = self._live.pop(_digest(ticket), None)
        return found.who if found is not None and found.expires_at > now else None
