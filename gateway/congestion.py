"""Congestion control for the uplink: how much telemetry may wait on central, and when to resend.

Central acknowledges a message once it is durable there; until then the message is *in flight*.
When central is slower than the radio (a flood hour, a backlog drained after an outage), resending
everything it has not yet answered only buries it deeper: each repeat is work it must do again. So,
like TCP:

- the telemetry window starts small and doubles per window acknowledged (slow start), then grows by
  one ``increase`` per window acknowledged (additive increase);
- it halves (multiplicative decrease, never below ``floor``) when central is slow: a message waited
  past its retry deadline, or was acknowledged only after ``slow_after_s``; once per round trip,
  since what was sent before a decrease was sent under the old window (a resend that expires again
  halves it again, so a silent central brings it down to the floor);
- only the messages that waited past their deadline are resent, and each one's next deadline doubles
  (capped at ``retry_max_s``), so a central that is merely slow sees a few repeats, not a storm;
- emergencies (an SOS, a cancel, case history) never wait for the window: they are tracked and
  resent every ``retry_s`` without backoff (there are few, and each is a life), outside the window.

Pure: the caller passes the clock in.
"""

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")


@dataclass
class _InFlight(Generic[T]):
    item: T
    emergency: bool
    first_sent: float
    last_sent: float
    deadline: float
    attempts: int = 1


class CongestionControl(Generic[T]):
    """The in-flight table, the telemetry window and the retry timers of one uplink."""

    def __init__(
        self, clock: Callable[[], float], ceiling: int, floor: int, retry_s: float, retry_max_s: float,
        slow_after_s: float, increase: int | None = None,
    ) -> None:
        self._clock = clock
        self.ceiling = max(1, ceiling)
        self.floor = max(1, min(floor, self.ceiling))
        self._retry_s = retry_s
        self._retry_max_s = max(retry_s, retry_max_s)
        self._slow_after_s = slow_after_s
        self._increase = increase or self.floor
        self._window = float(self.floor)
        self._threshold = float(self.ceiling)  # slow start until the first sign of congestion
        self._last_decrease = float("-inf")
        self._inflight: dict[int, _InFlight[T]] = {}
        self._telemetry_in_flight = 0
        self.decreases = 0
        self.resent = 0

    @property
    def window(self) -> int:
        """Telemetry messages allowed in flight now."""
        return int(self._window)

    @property
    def in_flight(self) -> int:
        """Messages sent and not yet acknowledged, emergencies included."""
        return len(self._inflight)

    def room(self) -> int:
        """How many more telemetry messages may be sent now (emergencies always may)."""
        return max(0, self.window - self._telemetry_in_flight)

    def is_in_flight(self, msg_id: int) -> bool:
        """Whether ``msg_id`` was sent and is not yet acknowledged."""
        return msg_id in self._inflight

    def sent(self, msg_id: int, item: T, emergency: bool) -> None:
        """``item`` was published for the first time since the last ``restart``."""
        now = self._clock()
        old = self._inflight.get(msg_id)
        if old is not None and not old.emergency:
            self._telemetry_in_flight -= 1
        self._inflight[msg_id] = _InFlight(item, emergency, now, now, now + self._retry_s)
        if not emergency:
            self._telemetry_in_flight += 1

    def acknowledged(self, msg_ids: Iterable[int]) -> None:
        """Central has these: they leave the window, which grows (or halves if they came back late)."""
        now = self._clock()
        acked = 0
        slow_since: float | None = None
        for msg_id in msg_ids:
            entry = self._inflight.pop(msg_id, None)
            if entry is None or entry.emergency:
                continue
            self._telemetry_in_flight -= 1
            # What was sent before the last decrease tells of the congestion already answered.
            acked += entry.first_sent >= self._last_decrease
            # Karn: only a message sent once says how long central takes.
            if entry.attempts == 1 and now - entry.first_sent > self._slow_after_s:
                slow_since = entry.first_sent if slow_since is None else max(slow_since, entry.first_sent)
        if slow_since is not None and self._decrease(slow_since, now):
            return
        self._grow(acked)

    def due(self) -> list[T]:
        """Messages past their deadline, emergencies first, oldest first: resend these now. Each one's
        next deadline doubles; the window halves (once per round trip)."""
        now = self._clock()
        expired = [(msg_id, e) for msg_id, e in self._inflight.items() if e.deadline <= now]
        if not expired:
            return []
        expired.sort(key=lambda pair: (not pair[1].emergency, pair[0]))
        # A resend that expires again is congestion anew (TCP halves again on a backed-off timeout).
        self._decrease(max(e.last_sent for _id, e in expired), now)
        for _id, entry in expired:
            entry.last_sent = now
            backoff = self._retry_s if entry.emergency else min(self._retry_s * 2**entry.attempts, self._retry_max_s)
            entry.attempts += 1
            entry.deadline = now + backoff
        self.resent += len(expired)
        return [e.item for _id, e in expired]

    def restart(self) -> None:
        """Forget the in-flight table (a new connection resends everything unacknowledged); the window
        is kept, since central is no faster for the reconnect."""
        self._inflight.clear()
        self._telemetry_in_flight = 0

    def _decrease(self, sent_at: float, now: float) -> bool:
        if sent_at < self._last_decrease:
            return False  # sent under a window already halved for this congestion
        self._threshold = max(float(self.floor), self._window / 2)
        self._window = self._threshold
        self._last_decrease = now
        self.decreases += 1
        return True

    def _grow(self, acked: int) -> None:
        if acked == 0:
            return
        if self._window < self._threshold:
            self._window = min(self._threshold, self._window + acked)
        else:
            self._window += self._increase * acked / self._window
        self._window = min(self._window, float(self.ceiling))
