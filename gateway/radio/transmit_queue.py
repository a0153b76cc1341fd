"""Downlinks leave the gateway from their own thread, SOS ACKs first.

A USB-serial Meshtastic radio is slow to write to: ``meshtastic``'s ``StreamInterface._writeBytes``
sleeps 100 ms after every write. Called from the gateway's single worker, a burst of ACKs and
officers' texts would hold up the radio's packets, central's acks and the uplink with it (10 writes a
second). Here the worker only enqueues; one writer thread talks to the radio, and a button waiting
for the answer to its SOS goes before any text, alert or config.
"""

import itertools
import logging
import queue
import threading
from collections import Counter
from dataclasses import dataclass, field
from enum import IntEnum

from gateway.radio.base import PacketHandler, RadioLink, TextHandler
from protocol import frames

log = logging.getLogger(__name__)


class TransmitPriority(IntEnum):
    """What goes on the air first (lower first)."""

    STOP = -1  # close(): the writer stops before anything still queued
    ACK = 0  # the answer a button waits for, LED blinking, before it retries its SOS
    FRAME = 1  # other frames to a node (config)
    TEXT = 2  # texts to officers and broadcast alerts


@dataclass(frozen=True, order=True)
class _Job:
    priority: TransmitPriority
    order: int  # first in, first out within a priority
    node_id: int | None = field(compare=False)
    frame: bytes | None = field(compare=False, default=None)
    text: str | None = field(compare=False, default=None)


class TransmitQueue:
    """A ``RadioLink`` whose sending side is a priority queue and a writer thread; receiving is the
    wrapped link's own, untouched.

    ``send`` and ``send_text`` return at once. Outcomes are counted as the gateway counted them when
    it wrote itself: ``downlinks``/``downlinks_failed`` for frames, ``texts_relayed``/``texts_failed``.
    """

    def __init__(self, link: RadioLink, name: str = "radio-tx") -> None:
        self._link = link
        self._jobs: queue.PriorityQueue[_Job] = queue.PriorityQueue()
        self._order = itertools.count()
        self._counts: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._closed = False
        self._writer = threading.Thread(target=self._write_all, name=name, daemon=True)
        self._writer.start()

    @property
    def state(self) -> str:
        """The wrapped link's state."""
        return self._link.state

    @state.setter
    def state(self, value: str) -> None:
        self._link.state = value

    @property
    def node_num(self) -> int | None:
        """The wrapped radio's own node number (officers' direct messages are addressed to it)."""
        return self._link.node_num

    def start(self, on_packet: PacketHandler) -> None:
        """Start the wrapped link's receiving."""
        self._link.start(on_packet)

    def set_text_handler(self, handler: TextHandler) -> None:
        """The wrapped link delivers texts heard on the mesh to ``handler``."""
        self._link.set_text_handler(handler)

    def send(self, node_id: int, frame: bytes) -> None:
        """Queue a frame for ``node_id``; an ACK goes before everything else queued."""
        is_ack = len(frame) > 1 and frame[1] == frames.T_ACK  # byte 1 is the frame type (protocol/frames.py)
        self._put(TransmitPriority.ACK if is_ack else TransmitPriority.FRAME, node_id, frame=frame)

    def send_text(self, node_id: int | None, text: str) -> None:
        """Queue a text for one node, or for everyone on the channel (``None``)."""
        self._put(TransmitPriority.TEXT, node_id, text=text)

    def counts(self) -> dict[str, int]:
        """Outcomes so far, and what is still waiting (``tx_pending``)."""
        with self._lock:
            return {**self._counts, "tx_pending": self._jobs.qsize()}

    def close(self, timeout_s: float = 5.0) -> None:
        """Stop the writer (what is still queued is counted as failed), then close the wrapped link."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        self._jobs.put(_Job(TransmitPriority.STOP, -1, None))
        self._writer.join(timeout=timeout_s)
        while True:
            try:
                job = self._jobs.get_nowait()
            except queue.Empty:
                break
            self._count_failed(job, "the gateway stopped before it went on the air")
        self._link.close()

    def _put(self, priority: TransmitPriority, node_id: int | None, frame: bytes | None = None,
             text: str | None = None) -> None:
        job = _Job(priority, next(self._order), node_id, frame, text)
        with self._lock:
            if self._closed:
                self._count_failed(job, "the gateway is stopping", locked=True)
                return
            self._jobs.put(job)

    def _write_all(self) -> None:
        while (job := self._jobs.get()).priority is not TransmitPriority.STOP:
            self._write(job)

    def _write(self, job: _Job) -> None:
        try:
            if job.frame is not None:
                self._link.send(job.node_id or 0, job.frame)
            else:
                self._link.send_text(job.node_id, job.text or "")
        except ConnectionError as exc:
            # A button retries its SOS until answered, and a retry heard by the gateway gets the last
            # downlink again: a frame lost to a radio outage is repaired then, not queued here.
            self._count_failed(job, f"{exc} (check the radio's cable and power; it reconnects by itself)")
            return
        with self._lock:
            self._counts["downlinks" if job.frame is not None else "texts_relayed"] += 1

    def _count_failed(self, job: _Job, why: str, locked: bool = False) -> None:
        what = "downlinks_failed" if job.frame is not None else "texts_failed"
        if locked:
            self._counts[what] += 1
        else:
            with self._lock:
                self._counts[what] += 1
        to = "everyone" if job.node_id is None else f"{job.node_id:08x}"
        log.warning("radio: %s to %s lost: %s", "downlink" if job.frame is not None else "text", to, why)
