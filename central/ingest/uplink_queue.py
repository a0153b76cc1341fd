"""UplinkQueue: uplinks waiting for central's worker, in two lanes so an SOS never waits behind telemetry.

An SOS, its cancel and a gateway's case history are *urgent*: a person is waiting for the button's
ACK. They are told apart on arrival by the topic's last segment only (cheap enough for paho's network
thread) and handed out alone, at once, ahead of any queued telemetry. Telemetry is handed out in
batches: the worker waits up to ``batch_wait_s`` to fill one, but an urgent uplink cuts that wait short.

The gateway (gateway/publisher.py) never puts an SOS inside ``up/batch``: emergencies travel one by
one on their own topics. An SOS that did arrive inside a batch would still be processed, just on the
telemetry lane.
"""

import threading
import time
from collections import deque
from dataclasses import dataclass

URGENT_LEAVES = frozenset({"sos", "sos_cancel", "case_events"})

Uplink = tuple[str, bytes]  # (topic, payload) as paho delivered it


def is_urgent(topic: str) -> bool:
    """Whether an uplink topic (``.../up/<leaf>``) carries an SOS, a cancel or a case history."""
    return topic.rpartition("/")[2] in URGENT_LEAVES


@dataclass(frozen=True)
class Taken:
    """Uplinks handed to the worker in one go; ``urgent`` when they came from the urgent lane."""

    uplinks: list[Uplink]
    urgent: bool


class UplinkQueue:
    """Two FIFO lanes (urgent, telemetry) under one condition; thread-safe, unbounded like queue.Queue."""

    def __init__(self, batch_max: int, batch_max_bytes: int, batch_wait_s: float, urgent_max: int = 16) -> None:
        self._batch_max, self._batch_max_bytes, self._batch_wait_s = batch_max, batch_max_bytes, batch_wait_s
        self._urgent_max = urgent_max
        self._urgent: deque[Uplink] = deque()
        self._telemetry: deque[Uplink] = deque()
        self._telemetry_bytes = 0
        self._closed = False
        self._ready = threading.Condition(threading.Lock())

    def put(self, topic: str, payload: bytes) -> None:
        """Queue an uplink in its lane (called on paho's network thread: no work here)."""
        with self._ready:
            if is_urgent(topic):
                self._urgent.append((topic, payload))
                self._ready.notify()
                return
            self._telemetry.append((topic, payload))
            self._telemetry_bytes += len(payload)
            # Wake the worker only when it may act: the first uplink it waits for, or a full batch.
            if len(self._telemetry) == 1 or self._batch_full():
                self._ready.notify()

    def urgent_waiting(self) -> bool:
        """Whether an SOS, cancel or case history is queued (a telemetry batch in progress then stops early)."""
        return bool(self._urgent)  # one read of a deque's length: atomic under the GIL, no lock needed

    def requeue(self, uplinks: list[Uplink]) -> None:
        """Put telemetry a batch did not reach back at the head of its lane, in its order (older than the rest)."""
        if not uplinks:
            return
        with self._ready:
            self._telemetry.extendleft(reversed(uplinks))
            self._telemetry_bytes += sum(len(payload) for _, payload in uplinks)
            self._ready.notify()

    def close(self) -> None:
        """Wake the worker for good: ``take`` hands out what is queued without waiting, then None."""
        with self._ready:
            self._closed = True
            self._ready.notify_all()

    def __len__(self) -> int:
        with self._ready:
            return len(self._urgent) + len(self._telemetry)

    def take(self, idle_timeout_s: float) -> Taken | None:
        """The next urgent uplinks, else a batch of telemetry; None after ``idle_timeout_s`` with nothing."""
        with self._ready:
            if not self._ready.wait_for(lambda: self._urgent or self._telemetry or self._closed, idle_timeout_s):
                return None
            if not self._urgent and self._telemetry and not self._closed:
                # Let a batch fill (fewer, larger transactions) unless an urgent uplink comes in meanwhile.
                deadline = time.monotonic() + self._batch_wait_s
                self._ready.wait_for(
                    lambda: self._urgent or self._batch_full() or self._closed or time.monotonic() >= deadline,
                    self._batch_wait_s,
                )
            if self._urgent:
                count = min(len(self._urgent), self._urgent_max)
                return Taken([self._urgent.popleft() for _ in range(count)], urgent=True)
            if self._telemetry:
                return Taken(self._pop_batch(), urgent=False)
            return None

    def _batch_full(self) -> bool:
        return len(self._telemetry) >= self._batch_max or self._telemetry_bytes >= self._batch_max_bytes

    def _pop_batch(self) -> list[Uplink]:
        # Bounded in messages and in bytes: a gateway draining its outbox sends hundreds of frames per
        # message, and one huge transaction would hold every acknowledgement back until its end.
        batch: list[Uplink] = []
        size = 0
        while self._telemetry and len(batch) < self._batch_max and size < self._batch_max_bytes:
            uplink = self._telemetry.popleft()
            batch.append(uplink)
            size += len(uplink[1])
        self._telemetry_bytes -= size
        return batch
