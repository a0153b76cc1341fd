"""The origins that feed the ledger: virtual nodes on the simulated radio, and the outbox watcher.

Virtual sensors send readings (fire and forget, as the firmware does); virtual buttons send an SOS
and resend the same frame until an ACK naming it comes back over the radio, as the firmware's
``sos_button`` does; a newer press supersedes an unanswered older one (only the latest is resent).
A button's ACK is the origin's acknowledgement of an SOS. The watcher reads
the gateway's outbox file: a frame seen committed there was acknowledged by the gateway.
"""

import random
import threading
import time

from meshtastic.protobuf import mesh_pb2

from protocol import frames
from protocol.mesh import FLOODMESH_PORTNUM
from protocol.registry import NodeRecord, NodeRegistry
from simulations.faults.ledger import EventId, Kind, Ledger, Origin
from simulations.faults.rig import Rig

BOOT_EPOCH = 1


class VirtualFleet:
    """Sensors and buttons that talk to whatever gateway holds the radio, recording into ``ledger``."""

    def __init__(self, registry: NodeRegistry, ledger: Ledger, rng: random.Random, sos_share: float = 0.03,
                 resend_s: float = 2.0) -> None:
        self._ledger, self._rng = ledger, rng
        self._sensors = [r for r in registry if r.kind == "water_level"]
        self._buttons = {r.node_id: r for r in registry if r.kind == "sos_button"}
        self._sos_share, self._resend_s = sos_share, resend_s
        self._seq: dict[int, int] = {}
        self._lock = threading.Lock()
        # Per button: its latest unanswered SOS, the frame, and when it was last sent.
        self._unanswered: dict[int, tuple[EventId, bytes, float]] = {}
        self.rig: Rig | None = None
        self.pressing = True  # False during a drain: buttons only resend, sensors are quiet
        self.clock_offset_s = 0  # how far the nodes' clocks are off (node_clock_jump)
        self.last_new: tuple[Kind, EventId] | None = None  # the newest reading or SOS put on the air

    # --- radio side ------------------------------------------------------------------------------

    def on_transmit(self, packet: mesh_pb2.MeshPacket) -> None:
        """A downlink the gateway put on the air: an ACK to one of our buttons settles its SOS."""
        rec = self._buttons.get(packet.to)
        if rec is None:
            return
        try:
            frame = frames.decode(packet.decoded.payload, rec.key)
        except frames.FrameError:
            return
        if not isinstance(frame.payload, frames.Ack):
            return
        event = (rec.node_id, frame.payload.sos_boot, frame.payload.sos_seq)
        with self._lock:
            waiting = self._unanswered.get(rec.node_id)
            if waiting is not None and waiting[0] == event:
                del self._unanswered[rec.node_id]
            if event in self._ledger.sent[Kind.SOS]:  # an ACK for a superseded press acknowledges it too
                self._ledger.acknowledge(Kind.SOS, event, Origin.BUTTON_ACK)

    def unanswered(self) -> int:
        """SOS still waiting for their ACK."""
        with self._lock:
            return len(self._unanswered)

    # --- node side -------------------------------------------------------------------------------

    def _next(self, rec: NodeRecord, payload: frames.WaterLevel | frames.Sos) -> tuple[EventId, bytes]:
        seq = self._seq.get(rec.node_id, 0)
        self._seq[rec.node_id] = seq + 1
        frame = frames.Frame(rec.node_id, BOOT_EPOCH, seq, int(time.time()) + self.clock_offset_s, payload)
        return frame.event_id, frames.encode(frame, rec.key)

    def _send(self, node_id: int, data: bytes) -> None:
        if self.rig is None:
            return
        try:
            self.rig.radio.inject(node_id, FLOODMESH_PORTNUM, data)
        except (ConnectionError, OSError):
            pass  # no gateway holds the radio now: the frame is not heard (a button will resend)

    def step(self) -> None:
        """One tick: resend what is due, then (unless draining) one new reading or SOS."""
        now = time.monotonic()
        with self._lock:
            due = [(e, d) for e, d, last in self._unanswered.values() if now - last >= self._resend_s]
            for event, data in due:
                self._unanswered[event[0]] = (event, data, now)
        for event, data in due:
            self._send(event[0], data)
        if not self.pressing:
            return
        if self._rng.random() < self._sos_share:
            button = self._rng.choice(list(self._buttons.values()))
            event, data = self._next(button, frames.Sos(self._rng.randrange(4), self._rng.randint(1, 9)))
            kind = Kind.SOS
            with self._lock:
                self._unanswered[event[0]] = (event, data, now)
        else:
            event, data = self._next(self._rng.choice(self._sensors), frames.WaterLevel(6000, 90))
            kind = Kind.READING
        self._ledger.sent_item(kind, event)  # before the air: a frame half-sent may still arrive
        self._send(event[0], data)
        self.last_new = (kind, event)

    def run(self, stop: threading.Event, interval_s: float = 0.01) -> None:
        """Step until ``stop``."""
        while not stop.wait(interval_s):
            self.step()


class OutboxWatcher:
    """Polls the gateway's outbox file: every frame seen committed is acknowledged by the gateway."""

    def __init__(self, rig: Rig, ledger: Ledger) -> None:
        self._rig, self._ledger = rig, ledger
        self.polls = 0

    def poll(self) -> None:
        """Record what the outbox holds now."""
        for kind, event in self._rig.outbox_frames():
            if kind in ("sos", "water_level"):
                self._ledger.acknowledge(Kind.SOS if kind == "sos" else Kind.READING, event, Origin.OUTBOX_COMMIT)
        self.polls += 1

    def run(self, stop: threading.Event, interval_s: float = 0.05) -> None:
        """Poll until ``stop``."""
        while not stop.wait(interval_s):
            self.poll()
