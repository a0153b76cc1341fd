"""Live updates for the dashboard: POST /api/events/ticket, then GET /api/events (server-sent events).

Authentication: EventSource cannot send an Authorization header, and a long-lived token in a URL would
be published to every log on the way. So the dashboard trades its in-memory session token for a ticket
(api/stream_tickets.py: 30 s, single use) and opens the stream with it. No cookie: the API stays
cookie-free, so no request can be forged cross-site. A stream ends after STREAM_MAX_S, or at once when
its user is revoked; the client then asks for a fresh ticket, so a stream never outlives its rights.

Each ``change`` message names what changed (case numbers the caller may see, station ids); the page
re-reads those through the ordinary API, which applies the same access rules as ever.
"""

import json
import time
from collections.abc import AsyncIterator, Iterable
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import StreamingResponse
from pydantic import BaseModel

from central.api.auth import Principal, PrincipalDep, require_staff
from central.api.deps import ContextDep
from central.api.live_feed import LiveFeed, LiveUpdate, Subscription
from central.api.refusals import Refused
from central.api.stream_tickets import StreamTickets
from central.store.base import CentralStore
from central.store.users import get_user

HEARTBEAT_S = 15.0
"""A comment line this often keeps proxies from closing an idle stream, and re-checks the user."""
STREAM_MAX_S = 600.0
"""A stream ends after this long; the client reconnects with a fresh ticket (rights are checked again)."""

router = APIRouter(prefix="/api/events", tags=["events"])


class TicketOut(BaseModel):
    """A single-use ticket for GET /api/events?ticket=..., valid ``expires_in_s`` seconds."""

    ticket: str
    expires_in_s: int


def get_live_feed(request: Request) -> LiveFeed:
    """The app's LiveFeed."""
    feed: LiveFeed = request.app.state.live_feed
    return feed


def get_stream_tickets(request: Request) -> StreamTickets:
    """The app's stream tickets."""
    tickets: StreamTickets = request.app.state.stream_tickets
    return tickets


LiveFeedDep = Annotated[LiveFeed, Depends(get_live_feed)]
TicketsDep = Annotated[StreamTickets, Depends(get_stream_tickets)]


@router.post("/ticket", status_code=201, responses={401: {"description": "no or bad credentials"}})
def issue_ticket(ctx: ContextDep, who: PrincipalDep, tickets: TicketsDep) -> TicketOut:
    """A ticket to open the live stream with (EventSource cannot send the Authorization header)."""
    require_staff(who)
    return TicketOut(ticket=tickets.issue(who, ctx.clock()), expires_in_s=int(tickets.ttl.total_seconds()))


@router.get("", response_class=StreamingResponse,
            responses={200: {"content": {"text/event-stream": {}}}, 401: {"description": "bad ticket"}})
async def live_events(
    request: Request, ctx: ContextDep, feed: LiveFeedDep, tickets: TicketsDep,
    ticket: Annotated[str, Query(min_length=1, max_length=100, description="from POST /api/events/ticket")],
) -> StreamingResponse:
    """Server-sent events: ``hello`` once, then ``change`` messages naming changed cases and stations."""
    who = tickets.redeem(ticket, ctx.clock())
    if who is None:
        raise Refused(401, "bad_stream_ticket", "stream ticket unknown, already used or expired: get a fresh "
                      "one from POST /api/events/ticket (each opens one stream, within 30 s)")
    sub = feed.subscribe()
    return StreamingResponse(_stream(request, ctx.store, who, feed, sub), media_type="text/event-stream",
                             headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})


def _message(event: str, data: object, event_id: int | None = None) -> str:
    head = "" if event_id is None else f"id: {event_id}\n"
    return f"{head}event: {event}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n"


def _visible_cases(store: CentralStore, who: Principal, numbers: Iterable[str]) -> list[int]:
    if who.role == "operator":
        return sorted(int(n) for n in numbers)
    out = []
    for n in numbers:
        case = store.case(int(n))
        if case is not None and who.sees(case.ward_code):
            out.append(case.case_number)
    return sorted(out)


def _still_allowed(store: CentralStore, who: Principal) -> bool:
    user = get_user(store, who.name)
    return user is not None and user.revoked_at is None


async def _stream(request: Request, store: CentralStore, who: Principal, feed: LiveFeed,
                  sub: Subscription) -> AsyncIterator[str]:
    try:
        yield "retry: 2000\n" + _message("hello", {"user": who.name, "role": who.role, "ward": who.ward})
        started = time.monotonic()
        sent = 0
        while time.monotonic() - started < STREAM_MAX_S:
            update = await sub.next(HEARTBEAT_S)
            if update is None or await request.is_disconnected():
                return
            if not (update.cases or update.alerts or update.levels or update.gateways or update.resync):
                if not await run_in_threadpool(_still_allowed, store, who):
                    yield _message("bye", {"reason": "user revoked"})
                    return
                yield ": keepalive\n\n"
                continue
            sent += 1
            yield _message("change", await _payload(store, who, update), sent)
        yield _message("bye", {"reason": "stream lifetime over: reconnect with a fresh ticket"})
    finally:
        feed.unsubscribe(sub)


async def _payload(store: CentralStore, who: Principal, update: LiveUpdate) -> dict[str, object]:
    cases = await run_in_threadpool(_visible_cases, store, who, update.cases) if update.cases else []
    # A ward official hears only of their ward's gateways.
    gateways = sorted(g for g in update.gateways if who.sees(g.partition("/")[0]))
    return {"cases": cases, "alerts": sorted(update.alerts), "levels": sorted(update.levels), "gateways": gateways,
            "resync": update.resync}
