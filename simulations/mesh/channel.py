"""The shared air: who hears a frame, at what power, and whether it survives overlaps.

One LoRa channel (all nodes on the same preset and frequency). A frame reaches every node whose link
is within reach of mattering; at each receiver it is lost if the receiver transmits while it is on air
(half duplex), or if another frame overlaps it and is not at least ``CAPTURE_THRESHOLD_DB`` weaker --
unless that other frame, having started first, ends before the receiver must lock onto this one's
preamble (the tolerance the older simulator drops by a units bug). Weaker-than-sensitivity frames
still interfere. The channel also keeps the airtime each node senses, for channel utilisation.
"""

import random
from collections import defaultdict, deque
from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from typing import Literal

import simpy

from simulations.mesh.packet import Packet
from simulations.mesh.physics import (
    CAD_MARGIN_DB,
    CAPTURE_THRESHOLD_DB,
    ModemPreset,
    locking_time_s,
    snr_db,
    time_on_air_s,
)
from simulations.mesh.topology import Topology

LossCause = Literal["collision", "half_duplex", "random"]
DecodedHandler = Callable[[int, Packet, int, float], None]  # receiver, packet, sender, snr
UTIL_BUCKET_S = 10.0  # the firmware's channel-utilisation period (airtime.h: 6 periods of 10 s)
UTIL_WINDOW_BUCKETS = 6


@dataclass
class _Arrival:
    """One frame arriving at one receiver."""

    sender: int
    packet: Packet
    rssi: float
    start: float
    end: float
    lost: LossCause | None = None


@dataclass
class ChannelCounters:
    """What the air did: frames sent, and at receivers within sensitivity, their fates."""

    frames_sent: int = 0
    airtime_s: float = 0.0
    sensed: int = 0  # arrivals at or above sensitivity (the Meshtasticator's "packets sensed")
    decoded: int = 0
    collisions: int = 0
    half_duplex: int = 0
    random_losses: int = 0
    by_kind_sent: dict[str, int] = field(default_factory=dict)


class Channel:
    """The air shared by all nodes of one topology on one preset."""

    def __init__(
        self,
        env: simpy.Environment,
        topology: Topology,
        preset: ModemPreset,
        rng: random.Random,
        extra_loss: float = 0.0,
    ) -> None:
        self.env = env
        self.preset = preset
        self.counters = ChannelCounters()
        self._rng = rng
        self._extra_loss = extra_loss
        self._on_decoded: DecodedHandler = lambda rx, p, tx, snr: None
        floor = preset.sensitivity_dbm - CAPTURE_THRESHOLD_DB  # weaker frames cannot destroy a decodable one
        self._hearers: dict[int, list[tuple[int, float]]] = defaultdict(list)
        for (tx, rx), rssi in topology.links.rssi_dbm.items():
            if rssi >= floor:
                self._hearers[tx].append((rx, rssi))
        self._ongoing: dict[int, list[_Arrival]] = defaultdict(list)
        self._transmitting: set[int] = set()
        self._busy_s: dict[int, dict[int, float]] = defaultdict(dict)  # node -> 10 s bucket -> airtime sensed
        self._busy_until: dict[int, float] = defaultdict(float)  # overlapping frames count once
        self._tx_log: dict[int, deque[tuple[float, float]]] = defaultdict(deque)  # node -> (start, airtime)
        self._tx_hour_s: dict[int, float] = defaultdict(float)  # running sum of the log
        self._lock_s = locking_time_s(preset)

    def set_receiver(self, handler: DecodedHandler) -> None:
        """Where decoded frames go (the nodes' routers)."""
        self._on_decoded = handler

    def airtime_s(self, packet: Packet) -> float:
        """Time on air of ``packet`` on this channel's preset."""
        return time_on_air_s(packet.payload_bytes, self.preset)

    def is_transmitting(self, node: int) -> bool:
        """Whether ``node`` is on air now."""
        return node in self._transmitting

    def is_busy_at(self, node: int) -> bool:
        """Channel-activity detection at ``node``: a frame on air it can detect, or its own."""
        cad = self.preset.sensitivity_dbm - CAD_MARGIN_DB
        return node in self._transmitting or any(a.rssi >= cad for a in self._ongoing[node])

    def utilisation(self, node: int) -> float:
        """Channel utilisation (0..1) that ``node`` measures over the last minute, as the firmware does."""
        now = int(self.env.now // UTIL_BUCKET_S)
        busy = self._busy_s[node]
        sensed = sum(busy.get(b, 0.0) for b in range(now - UTIL_WINDOW_BUCKETS + 1, now + 1))
        return min(1.0, sensed / (UTIL_BUCKET_S * UTIL_WINDOW_BUCKETS))

    def tx_utilisation_hour(self, node: int) -> float:
        """Share (0..1) of the last hour ``node`` spent transmitting (the duty-cycle measure)."""
        log = self._tx_log[node]
        while log and log[0][0] <= self.env.now - 3600.0:
            self._tx_hour_s[node] -= log.popleft()[1]
        return max(0.0, self._tx_hour_s[node]) / 3600.0

    def busy_series(self, node: int) -> dict[int, float]:
        """Airtime ``node`` sensed per 10 s bucket (bucket index -> seconds)."""
        return dict(self._busy_s[node])

    def transmit(self, sender: int, packet: Packet) -> Generator[simpy.Event, None, None]:
        """Put ``packet`` on air from ``sender`` (a SimPy process lasting its airtime)."""
        now, airtime = self.env.now, self.airtime_s(packet)
        self._transmitting.add(sender)
        for arrival in self._ongoing[sender]:  # half duplex: what the sender was receiving is lost
            arrival.lost = arrival.lost or "half_duplex"
        self.counters.frames_sent += 1
        self.counters.airtime_s += airtime
        self.counters.by_kind_sent[packet.kind] = self.counters.by_kind_sent.get(packet.kind, 0) + 1
        self._tx_log[sender].append((now, airtime))
        self._tx_hour_s[sender] += airtime
        self._mark_busy(sender, now, now + airtime)
        arrivals = [self._arrive(sender, rx, rssi, packet, now, now + airtime) for rx, rssi in self._hearers[sender]]
        yield self.env.timeout(airtime)
        self._transmitting.discard(sender)
        for arrival, rx in arrivals:
            self._ongoing[rx].remove(arrival)
            self._settle(rx, arrival)

    def _arrive(self, sender: int, rx: int, rssi: float, packet: Packet, start: float, end: float) -> tuple[
        _Arrival, int
    ]:
        arrival = _Arrival(sender, packet, rssi, start, end)
        if rx in self._transmitting:
            arrival.lost = "half_duplex"
        for other in self._ongoing[rx]:
            if rssi > other.rssi - CAPTURE_THRESHOLD_DB:  # the new frame is not 6 dB weaker: the older one is hit
                other.lost = other.lost or "collision"
            if other.rssi > rssi - CAPTURE_THRESHOLD_DB and other.end > start + self._lock_s:
                arrival.lost = arrival.lost or "collision"
        self._ongoing[rx].append(arrival)
        if rssi >= self.preset.sensitivity_dbm - CAD_MARGIN_DB:
            self._mark_busy(rx, start, end)
        return arrival, rx

    def _mark_busy(self, node: int, start: float, end: float) -> None:
        # Airtime is booked at the frame's start, as the firmware logs it; overlaps are counted once.
        added = end - max(start, self._busy_until[node])
        if added > 0:
            bucket = int(start // UTIL_BUCKET_S)
            busy = self._busy_s[node]
            busy[bucket] = busy.get(bucket, 0.0) + added
            self._busy_until[node] = end

    def _settle(self, rx: int, arrival: _Arrival) -> None:
        if arrival.rssi < self.preset.sensitivity_dbm:
            return  # interference only: never decodable here
        c = self.counters
        c.sensed += 1
        if arrival.lost == "collision":
            c.collisions += 1
        elif arrival.lost == "half_duplex":
            c.half_duplex += 1
        elif self._extra_loss and self._rng.random() < self._extra_loss:
            c.random_losses += 1
        else:
            c.decoded += 1
            self._on_decoded(rx, arrival.packet, arrival.sender, snr_db(arrival.rssi))
