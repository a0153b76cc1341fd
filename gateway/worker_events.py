"""What the gateway's one worker thread is handed, and the order it takes it in.

The radio's and paho's callbacks only enqueue these (no work, no client calls on their threads); the
worker takes them in batches and handles what a life may depend on first.
"""

import queue
from dataclasses import dataclass

from gateway.radio.base import IncomingText, RadioPacket
from protocol.frames import T_SOS, T_SOS_CANCEL


@dataclass(frozen=True)
class Mqtt:
    """A message from central, as paho handed it over."""

    topic: str
    payload: bytes


@dataclass(frozen=True)
class Text:
    """A text heard on the mesh (an official's command, or chatter)."""

    heard: IncomingText


@dataclass(frozen=True)
class Link:
    """The backhaul to the broker came up or went down."""

    connected: bool


@dataclass(frozen=True)
class Durable:
    """The outbox's flusher made more of it durable: telemetry waiting for that may be published."""


Event = RadioPacket | Mqtt | Text | Link | Durable


def urgent_first(events: list[Event]) -> tuple[list[Event], list[Event]]:
    """Split a batch into what a life may depend on — SOS and SOS-cancel frames from the radio, frame
    downlinks (a button's ACK) from central — and the rest, each part in its original order.

    The frame type is read before the tag is checked: a forged "SOS" is refused all the same, only sooner.
    """
    urgent: list[Event] = []
    rest: list[Event] = []
    for ev in events:
        if isinstance(ev, RadioPacket):
            is_urgent = len(ev.frame) > 1 and ev.frame[1] in (T_SOS, T_SOS_CANCEL)
        elif isinstance(ev, Mqtt):
            parts = ev.topic.split("/")  # .../<ward>/<gw>/down/<node>: a frame for a node, not a text
            is_urgent = len(parts) == 6 and parts[4] == "down" and parts[5] != "text"
        else:
            is_urgent = False
        (urgent if is_urgent else rest).append(ev)
    return urgent, rest


class WorkerQueue:
    """The worker's events: other threads ``put``; the worker ``take``s a batch, and while it works
    through a long one, looks ahead for ``urgent_arrivals`` (the rest is kept, in order, for the next)."""

    def __init__(self) -> None:
        self._queue: queue.Queue[Event] = queue.Queue()
        self._kept: list[Event] = []  # taken while looking for an SOS, not yet handled

    def put(self, event: Event) -> None:
        """Enqueue from any thread (a radio or paho callback: it must return at once)."""
        self._queue.put(event)

    def take(self, timeout_s: float) -> list[Event]:
        """What was kept and what is queued now; waits up to ``timeout_s`` when there is nothing."""
        kept, self._kept = self._kept, []
        if not kept:
            try:
                kept = [self._queue.get(timeout=timeout_s)]
            except queue.Empty:
                return []
        return [*kept, *self._arrived()]

    def urgent_arrivals(self) -> list[Event]:
        """The urgent events queued now; the others are kept for the next ``take``, ahead of later ones."""
        urgent, later = urgent_first(self._arrived())
        self._kept += later
        return urgent

    def _arrived(self) -> list[Event]:
        out: list[Event] = []
        while len(out) < 5000:
            try:
                out.append(self._queue.get_nowait())
            except queue.Empty:
                break
        return out
