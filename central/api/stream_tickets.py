"""Stream tickets: how a browser's EventSource, which cannot send an Authorization header, proves who it is.

The dashboard, holding its session token in memory, asks POST /api/events/ticket for a ticket and opens
GET /api/events?ticket=... with it. A ticket is random, lives 30 s and is redeemed once: the URL may end up
in a proxy's log, but what it holds is spent by then. Long-lived tokens never go into a URL (auth.py).
"""

from datetime import datetime, timedelta

from central.api.auth import Principal
from central.api.expiring_tokens import ExpiringTokens

TICKET_PREFIX = "ticket:"


class StreamTickets:
    """Issued, unredeemed tickets: 30 s, single use."""

    def __init__(self, ttl: timedelta = timedelta(seconds=30), max_tickets: int = 10_000) -> None:
        self.ttl = ttl
        self._tickets: ExpiringTokens[Principal] = ExpiringTokens(TICKET_PREFIX, ttl, max_tickets, random_bytes=24)

    def issue(self, who: Principal, now: datetime) -> str:
        """A fresh single-use ticket for ``who``."""
        return self._tickets.issue(who, now)[0]

    def redeem(self, ticket: str, now: datetime) -> Principal | None:
        """The caller a ticket stands for, once; None if unknown, spent or expired."""
        return self._tickets.redeem(ticket, now)
