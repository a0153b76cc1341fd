"""TelemetryWriter: the time-series store written from a thread of its own, behind a bounded queue.

The ingest hands its points over after each commit and goes straight on to publish the batch's ACKs;
a slow or unreachable InfluxDB only lengthens this writer's queue. A failed write is retried with
exponential backoff, never given up while central runs. When the queue is full, the points that do
not fit are dropped and counted by reason (``on_dropped``: central keeps them in /api/stats) - the
ingest must not wait, and central's own ``readings`` table still holds every reading. At stop the
queue is flushed for up to ``flush_s``; what the store still refuses then is counted too.
"""

import logging
import threading
from collections import Counter, deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from central.store.telemetry import LevelPoint, TelemetryStore

log = logging.getLogger(__name__)

DROPPED_QUEUE_FULL = "queue_full"
DROPPED_AT_STOP = "unwritten_at_stop"


@dataclass(frozen=True)
class TelemetryWriterStatus:
    """Running totals of a TelemetryWriter."""

    queued: int
    written: int
    failed_writes: int
    dropped: dict[str, int]


class TelemetryWriter:
    """A TelemetryStore whose ``write`` only enqueues; a worker thread writes to the real store."""

    def __init__(
        self, store: TelemetryStore, capacity: int = 200_000, chunk: int = 5000,
        backoff_s: tuple[float, float] = (0.5, 30.0), on_dropped: Callable[[str, int], None] | None = None,
    ) -> None:
        self.name = store.name
        self._store = store
        self._capacity, self._chunk = capacity, chunk
        self._backoff_min, self._backoff_max = backoff_s
        self._on_dropped = on_dropped
        self._queue: deque[LevelPoint] = deque()
        self._cond = threading.Condition()
        self._in_hand = 0  # points taken off the queue, being written
        self._stopping = False
        self._give_up = threading.Event()  # set when the flush at stop runs out of time
        self._written = self._failed = 0
        self._dropped: Counter[str] = Counter()
        self._thread = threading.Thread(target=self._run, name=f"telemetry-{store.name}", daemon=True)
        self._thread.start()

    def write(self, points: Sequence[LevelPoint]) -> None:
        """Queue the points; never blocks. What does not fit is dropped, counted and logged."""
        with self._cond:
            room = max(0, self._capacity - len(self._queue) - self._in_hand)
            self._queue.extend(points[:room])
            dropped = len(points) - min(room, len(points))
            self._cond.notify_all()
        if dropped:
            self._drop(DROPPED_QUEUE_FULL, dropped)

    def status(self) -> TelemetryWriterStatus:
        """Queue length and totals so far."""
        with self._cond:
            return TelemetryWriterStatus(len(self._queue) + self._in_hand, self._written, self._failed,
                                         dict(self._dropped))

    def wait_idle(self, timeout_s: float) -> bool:
        """Block until every queued point is written (tests, benchmarks); False on timeout."""
        with self._cond:
            return self._cond.wait_for(lambda: not self._queue and not self._in_hand, timeout_s)

    def close(self, flush_s: float = 10.0) -> None:
        """Write what is queued (for up to ``flush_s``), count what could not be, close the store."""
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        self._thread.join(flush_s)
        if self._thread.is_alive():
            self._give_up.set()
            self._thread.join()
        self._store.close()

    def _drop(self, reason: str, n: int) -> None:
        with self._cond:
            self._dropped[reason] += n
        log.warning("telemetry store %s: %d points dropped (%s); they stay in central's readings table",
                    self.name, n, reason)
        if self._on_dropped is not None:
            try:
                self._on_dropped(reason, n)
            except Exception:  # counting must not stop the writer
                log.exception("could not record %d dropped telemetry points", n)

    def _run(self) -> None:
        while True:
            with self._cond:
                self._cond.wait_for(lambda: self._queue or self._stopping)
                if not self._queue:
                    return
                batch = [self._queue.popleft() for _ in range(min(self._chunk, len(self._queue)))]
                self._in_hand = len(batch)
            written = self._write_with_retry(batch)
            with self._cond:
                self._in_hand = 0
                self._written += len(batch) if written else 0
                rest = 0
                if not written:  # only when giving up at stop: nothing after this batch gets written either
                    rest = len(self._queue)
                    self._queue.clear()
                self._cond.notify_all()
            if not written:
                self._drop(DROPPED_AT_STOP, len(batch) + rest)
                return

    def _write_with_retry(self, batch: list[LevelPoint]) -> bool:
        delay = self._backoff_min
        while True:
            try:
                self._store.write(batch)
                return True
            except Exception as exc:  # the time-series server's outage must not stop the writer
                with self._cond:
                    self._failed += 1
                log.warning("telemetry store %s: write of %d points failed (%s); retrying in %.1f s",
                            self.name, len(batch), exc, delay)
            if self._give_up.wait(delay):
                return False
            delay = min(delay * 2, self._backoff_max)
