"""LiveFeed: what the store committed, fanned out to the dashboards' event streams (server-sent events).

The store tells ``committed`` what each transaction changed (on the committing thread: the ingest's, an
API worker's or the deadline watch's); each open stream has a Subscription living on the event loop,
which coalesces everything pending into one update, so a telemetry burst is one message, not thousands.
"""

import asyncio
import threading
from dataclasses import dataclass

from central.store.base import Change

MAX_PENDING = 256
"""Commits a slow stream may hold before it is told to reload everything instead (``resync``)."""


@dataclass(frozen=True)
class LiveUpdate:
    """What changed since the stream's last message: case numbers, station ids and gateways (as strings)."""

    cases: frozenset[str] = frozenset()
    alerts: frozenset[str] = frozenset()
    levels: frozenset[str] = frozenset()
    gateways: frozenset[str] = frozenset()  # "<ward>/<gateway>" whose own status came in
    resync: bool = False  # too much was pending: reload everything


class Subscription:
    """One stream's inbox on its event loop; ``next`` waits for and coalesces the pending changes."""

    def __init__(self, loop: asyncio.AbstractEventLoop, max_pending: int = MAX_PENDING) -> None:
        self._loop = loop
        self._pending: list[frozenset[Change]] = []
        self._overflowed = False
        self._max_pending = max_pending
        self._ready = asyncio.Event()
        self.closed = False

    def offer(self, changed: frozenset[Change]) -> None:
        """Hand a commit's changes over from any thread."""
        self._loop.call_soon_threadsafe(self._put, changed)

    def close_soon(self) -> None:
        """End the stream (from any thread): ``next`` returns None."""
        self._loop.call_soon_threadsafe(self._close)

    def _close(self) -> None:
        self.closed = True
        self._ready.set()

    def _put(self, changed: frozenset[Change]) -> None:
        if len(self._pending) >= self._max_pending:
            self._overflowed = True
            self._pending.clear()
        else:
            self._pending.append(changed)
        self._ready.set()

    async def next(self, timeout_s: float) -> LiveUpdate | None:
        """The changes pending (waiting up to ``timeout_s``); an empty update on timeout, None once closed."""
        if not self._ready.is_set():
            try:
                await asyncio.wait_for(self._ready.wait(), timeout_s)
            except TimeoutError:
                return None if self.closed else LiveUpdate()
        if self.closed:
            return None
        self._ready.clear()
        pending, self._pending = self._pending, []
        overflowed, self._overflowed = self._overflowed, False
        merged: dict[str, set[str]] = {"case": set(), "alert": set(), "level": set(), "gateway": set()}
        for changed in pending:
            for kind, key in changed:
                merged.setdefault(kind, set()).add(key)
        return LiveUpdate(frozenset(merged["case"]), frozenset(merged["alert"]), frozenset(merged["level"]),
                          frozenset(merged["gateway"]), resync=overflowed)


class LiveFeed:
    """The set of open streams; ``committed`` is a CentralStore.on_commit observer."""

    def __init__(self) -> None:
        self._subscriptions: set[Subscription] = set()
        self._lock = threading.Lock()

    def subscribe(self) -> Subscription:
        """A new inbox on the running event loop (call from a coroutine)."""
        sub = Subscription(asyncio.get_running_loop())
        with self._lock:
            self._subscriptions.add(sub)
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        """Forget an inbox (its stream ended)."""
        with self._lock:
            self._subscriptions.discard(sub)

    def committed(self, changed: frozenset[Change]) -> None:
        """Tell every open stream what a commit changed (any thread; never blocks on a stream)."""
        with self._lock:
            subs = list(self._subscriptions)
        for sub in subs:
            try:
                sub.offer(changed)
            except RuntimeError:  # its loop is closed: the server stopped
                self.unsubscribe(sub)

    def close(self) -> None:
        """End every open stream (central is stopping)."""
        with self._lock:
            subs, self._subscriptions = list(self._subscriptions), set()
        for sub in subs:
            try:
                sub.close_soon()
            except RuntimeError:
                pass

    def __len__(self) -> int:
        with self._lock:
            return len(self._subscriptions)
