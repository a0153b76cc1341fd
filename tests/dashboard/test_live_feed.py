"""LiveFeed and stream tickets, without a server: coalescing, overflow, closing, single use, expiry."""

import asyncio
import threading
from datetime import UTC, datetime, timedelta

import pytest

from central.api.auth import Principal
from central.api.live_feed import LiveFeed, LiveUpdate
from central.api.stream_tickets import StreamTickets

pytestmark = pytest.mark.unit
NOW = datetime(2026, 11, 15, 12, 0, tzinfo=UTC)


def test_commits_from_other_threads_arrive_coalesced_into_one_update() -> None:
    async def scenario() -> LiveUpdate | None:
        feed = LiveFeed()
        sub = feed.subscribe()
        writers = [threading.Thread(target=feed.committed, args=(frozenset({("case", str(n)), ("level", "kim_long")}),))
                   for n in (1, 2, 3)]
        for w in writers:
            w.start()
        for w in writers:
            w.join()
        await asyncio.sleep(0)  # let the loop run the handed-over callbacks
        return await sub.next(1.0)

    update = asyncio.run(scenario())
    assert update == LiveUpdate(cases=frozenset({"1", "2", "3"}), levels=frozenset({"kim_long"}))


def test_a_quiet_feed_times_out_with_an_empty_update_and_a_closed_one_ends() -> None:
    async def scenario() -> tuple[LiveUpdate | None, LiveUpdate | None, int]:
        feed = LiveFeed()
        sub = feed.subscribe()
        quiet = await sub.next(0.01)
        feed.close()
        await asyncio.sleep(0)
        return quiet, await sub.next(1.0), len(feed)

    quiet, closed, left = asyncio.run(scenario())
    assert quiet == LiveUpdate()
    assert closed is None
    assert left == 0


def test_a_stream_too_far_behind_is_told_to_resync_instead_of_growing() -> None:
    async def scenario() -> LiveUpdate | None:
        feed = LiveFeed()
        sub = feed.subscribe()
        for n in range(1000):
            feed.committed(frozenset({("case", str(n))}))
        await asyncio.sleep(0)
        return await sub.next(1.0)

    update = asyncio.run(scenario())
    assert update is not None
    assert update.resync
    assert len(update.cases) < 1000


def test_a_ticket_opens_one_stream_within_its_lifetime() -> None:
    tickets = StreamTickets(ttl=timedelta(seconds=30))
    who = Principal("ioc", "operator")
    first = tickets.issue(who, NOW)
    assert tickets.redeem(first, NOW + timedelta(seconds=5)) == who
    assert tickets.redeem(first, NOW + timedelta(seconds=6)) is None  # spent
    late = tickets.issue(who, NOW)
    assert tickets.redeem(late, NOW + timedelta(seconds=31)) is None  # expired
    assert tickets.redeem("ticket:made-up", NOW) is None
