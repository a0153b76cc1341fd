"""Radio -> radio latency of SOS: a probe on the simulated radio's transmit hook, and a telemetry load."""

import statistics
import threading
import time

from meshtastic.protobuf import mesh_pb2

from protocol import frames
from protocol.mesh import FLOODMESH_PORTNUM
from protocol.registry import NodeRecord
from simulations.meshtastic_radio import SimulatedMeshtasticRadio


class LatencyProbe:
    """Times each expected SOS from its injection to the ACK frame the gateway transmits for it.

    ``heard`` is the radio's ``on_transmit`` hook: it decodes a downlink with the addressed button's key
    and stops that button's clock only for an ACK of the very SOS (boot epoch, sequence) it expects.
    """

    def __init__(self) -> None:
        self._expected: dict[int, tuple[NodeRecord, int, int, float]] = {}
        self._latency_s: dict[int, float] = {}
        self.acked_at: dict[int, float] = {}  # perf_counter when each button's ACK went on the air
        self._changed = threading.Condition()
        self.other_downlinks = 0

    def expect(self, button: NodeRecord, boot_epoch: int, seq: int) -> None:
        """Start ``button``'s clock: its SOS is about to be injected."""
        with self._changed:
            self._expected[button.node_id] = (button, boot_epoch, seq, time.perf_counter())

    def heard(self, packet: mesh_pb2.MeshPacket) -> None:
        """The radio transmits ``packet``: if it is an awaited ACK, stop that button's clock."""
        now = time.perf_counter()
        with self._changed:
            expected = self._expected.get(packet.to)
            if expected is None or packet.decoded.portnum != FLOODMESH_PORTNUM:
                self.other_downlinks += 1
                return
            button, boot_epoch, seq, sent = expected
            try:
                ack = frames.decode(packet.decoded.payload, button.key).payload
            except frames.FrameError:
                self.other_downlinks += 1
                return
            if isinstance(ack, frames.Ack) and (ack.sos_boot, ack.sos_seq) == (boot_epoch, seq):
                self._latency_s.setdefault(button.node_id, now - sent)
                self.acked_at.setdefault(button.node_id, now)
                self._changed.notify_all()

    def injected_at(self, node_ids: list[int]) -> dict[int, float]:
        """perf_counter when each of these buttons' SOS was injected."""
        with self._changed:
            return {n: self._expected[n][3] for n in node_ids if n in self._expected}

    def wait_all(self, node_ids: list[int], timeout_s: float) -> bool:
        """Wait until every one of these buttons has its ACK; False on timeout."""
        with self._changed:
            return self._changed.wait_for(lambda: all(n in self._latency_s for n in node_ids), timeout=timeout_s)

    def unanswered(self, node_ids: list[int]) -> list[int]:
        """The buttons among ``node_ids`` still without an ACK."""
        with self._changed:
            return [n for n in node_ids if n not in self._latency_s]

    def latencies_ms(self, node_ids: list[int]) -> list[float]:
        """Each button's radio -> radio time, in milliseconds."""
        with self._changed:
            return [self._latency_s[n] * 1000 for n in node_ids]


class TelemetryLoad:
    """Hands ``readings`` (node id, frame) to the radio at ``per_s`` a second, until told to stop."""

    TICK_S = 0.005  # inject what is due every 5 ms: smooth enough for the gateway, cheap for us

    def __init__(self, radio: SimulatedMeshtasticRadio, readings: list[tuple[int, bytes]], per_s: int) -> None:
        self._radio, self._readings, self._per_s = radio, readings, per_s
        self.sent = 0
        self.achieved_per_s = 0.0

    def run(self, stop: threading.Event) -> None:
        """Inject on schedule until ``stop`` is set or the readings run out."""
        start = time.perf_counter()
        while not stop.wait(self.TICK_S) and self.sent < len(self._readings):
            due = min(len(self._readings), int((time.perf_counter() - start) * self._per_s))
            for node_id, frame in self._readings[self.sent:due]:
                self._radio.inject(node_id, FLOODMESH_PORTNUM, frame)
            self.sent = max(self.sent, due)
        self.achieved_per_s = self.sent / (time.perf_counter() - start)


def percentiles(samples_ms: list[float]) -> dict[str, float]:
    """p50, p99 and max of ``samples_ms``, rounded to 0.01 ms."""
    cuts = statistics.quantiles(samples_ms, n=100, method="inclusive")
    return {"p50": round(cuts[49], 2), "p99": round(cuts[98], 2), "max": round(max(samples_ms), 2)}
