"""Meshtastic's managed flooding, one router per node, as the firmware does it.

Facts from the firmware (``src/mesh/RadioInterface.cpp``, ``FloodingRouter.cpp``, ``NextHopRouter.h``,
``airtime.*``, ``Router.cpp``), checked against ``MESH-SIM.md``:

- a node rebroadcasts a packet it has not seen, with hop limit - 1, after an SNR-weighted delay:
  clients wait ``2*CWmax*slot + random(0, 2^CW(snr))*slot``, routers ``random(0, 2*CW(snr))*slot``, with
  ``CW(snr) = map(snr, -20, 10, CWmin, CWmax)``: the strongest hearers wait longest, so the farthest
  node usually relays first. Current firmware has CWmin 3 (``MESH-SIM.md`` says 2, from older firmware);
- a client that hears someone else's rebroadcast of a packet it is waiting to relay cancels its own;
- its own packets wait ``random(0, 2^CW(util))*slot``, the window growing with channel utilisation, and
  listen before talk: a busy channel (CAD) when the timer fires costs another such wait;
- ``want_ack``: up to 3 retransmissions (NUM_RELIABLE_RETX) of the same packet after
  ``2*airtime + (2^CW(util) + 2*CWmax + 2^((CWmax+CWmin)/2))*slot + 4.5 s`` unless an ACK came: for a
  broadcast, hearing any rebroadcast of it (implicit ACK); for a direct message, the routing ACK;
- the destination of a direct ``want_ack`` packet sends a routing ACK (hop limit from
  ``getHopLimitForResponse``) and ACKs a retransmission again (its first ACK was lost);
- throttles: a node's own packets are refused above the region's duty cycle over the last hour
  (``Router::send``). Meshtastic's 25 % "polite" channel-utilisation rule (``isTxAllowedChannelUtil``)
  is *not* applied: the firmware checks it only inside its own modules (telemetry, position, node
  info, neighbour info, range test, store and forward: ``src/modules/*``), never for a packet an app
  hands the radio through the client API (``MeshService::handleToRadio`` -> ``Router::send``, which
  checks the duty cycle alone). floodmesh's nodes speak through that API on their own port, so their
  readings face the duty cycle only. floodmesh's SOS traffic is exempt from the duty cycle too: its
  radios must be configured so, which the model assumes.
"""

import random
from collections.abc import Callable, Generator
from dataclasses import dataclass, field, replace

import simpy

from simulations.mesh.channel import Channel
from simulations.mesh.packet import Packet
from simulations.mesh.physics import slot_time_s
from simulations.mesh.topology import MeshNode

SNR_MIN_DB, SNR_MAX_DB = -20, 10
PROCESSING_S = 4.5  # firmware PROCESSING_TIME_MSEC: build, process and rebuild a packet (empirical)


@dataclass(frozen=True)
class FirmwareTiming:
    """The firmware's contention and retry constants (data, so another firmware version is one line)."""

    cw_min: int = 3
    cw_max: int = 8
    reliable_retries: int = 3
    default_hop_limit: int = 3


@dataclass
class RouterCounters:
    """What the routers did, summed over the mesh."""

    originated: int = 0
    rebroadcasts_queued: int = 0
    rebroadcasts_cancelled: int = 0
    retransmissions: int = 0
    retries_exhausted: int = 0
    refused_duty_cycle: int = 0
    channel_busy_deferrals: int = 0
    duplicates_heard: int = 0
    routing_acks_sent: int = 0


@dataclass
class _Queued:
    packet: Packet
    ready_s: float
    relay: bool
    cancelled: bool = False


@dataclass
class _Pending:
    packet: Packet
    retries_left: int
    acked: bool = False


# (node, packet, snr) of a packet decoded at a node for the first time
FirstHeardHandler = Callable[[int, Packet, float], None]


def _arduino_map(x: float, in_min: int, in_max: int, out_min: int, out_max: int) -> int:
    # Arduino's integer map() on a value truncated to long, as the firmware calls it.
    return (int(x) - in_min) * (out_max - out_min) // (in_max - in_min) + out_min


@dataclass
class MeshRouter:
    """One node's Meshtastic router: transmit queue, duplicate memory, retransmissions, throttles."""

    env: simpy.Environment
    node: MeshNode
    channel: Channel
    rng: random.Random
    timing: FirmwareTiming
    counters: RouterCounters
    duty_cycle: float  # 0..1, 1 = unlimited
    on_first_heard: FirstHeardHandler
    seen: set[tuple[int, int]] = field(default_factory=set)
    _queue: list[_Queued] = field(default_factory=list)
    _pending: dict[int, _Pending] = field(default_factory=dict)
    _wake: simpy.Event | None = None

    def __post_init__(self) -> None:
        self._slot = slot_time_s(self.channel.preset)
        self.env.process(self._transmitter())

    # -- sending ------------------------------------------------------------------------------------
    def originate(self, packet: Packet) -> bool:
        """Send a packet this node made; False if a throttle held it back (counted)."""
        if not self._duty_cycle_allows(packet):
            return False
        self.counters.originated += 1
        self.seen.add(packet.key)
        if packet.want_ack:
            self._pending[packet.packet_id] = _Pending(packet, self.timing.reliable_retries)
        self._enqueue(packet, self._own_delay_s(), relay=False)
        return True

    def _duty_cycle_allows(self, packet: Packet) -> bool:
        if packet.urgent or self.duty_cycle >= 1.0:
            return True
        if self.channel.tx_utilisation_hour(self.node.node_id) <= self.duty_cycle:
            return True
        self.counters.refused_duty_cycle += 1
        return False

    def _cw(self, value: float, lo: int, hi: int) -> int:
        # The radio's SNR reading saturates near +10..+15 dB; clamp as that saturation does.
        return max(self.timing.cw_min, min(self.timing.cw_max, _arduino_map(value, lo, hi, self.timing.cw_min,
                                                                              self.timing.cw_max)))

    def _own_delay_s(self) -> float:
        cw = self._cw(self.channel.utilisation(self.node.node_id) * 100, 0, 100)
        return self.rng.randrange(0, 1 << cw) * self._slot

    def _relay_delay_s(self, snr: float) -> float:
        cw = self._cw(snr, SNR_MIN_DB, SNR_MAX_DB)
        if self.node.role == "router":
            return self.rng.randrange(0, 2 * cw) * self._slot
        return (2 * self.timing.cw_max + self.rng.randrange(0, 1 << cw)) * self._slot

    def _retransmission_s(self, packet: Packet) -> float:
        t = self.timing
        cw = self._cw(self.channel.utilisation(self.node.node_id) * 100, 0, 100)
        slots = (1 << cw) + 2 * t.cw_max + (1 << ((t.cw_max + t.cw_min) // 2))
        return 2 * self.channel.airtime_s(packet) + slots * self._slot + PROCESSING_S

    def _enqueue(self, packet: Packet, delay_s: float, *, relay: bool) -> None:
        self._queue.append(_Queued(packet, self.env.now + delay_s, relay))
        if self._wake is not None and not self._wake.triggered:
            self._wake.succeed()

    def _transmitter(self) -> Generator[simpy.Event, None, None]:
        while True:
            self._queue = [q for q in self._queue if not q.cancelled]
            if not self._queue:
                self._wake = self.env.event()
                yield self._wake
                continue
            head = min(self._queue, key=lambda q: q.ready_s)
            if head.ready_s > self.env.now:
                self._wake = self.env.event()
                yield self.env.timeout(head.ready_s - self.env.now) | self._wake
                continue
            if self.channel.is_busy_at(self.node.node_id):  # listen before talk
                self.counters.channel_busy_deferrals += 1
                head.ready_s = self.env.now + self._own_delay_s() + self._slot
                continue
            self._queue.remove(head)
            yield self.env.process(self.channel.transmit(self.node.node_id, head.packet))
            if not head.relay and head.packet.packet_id in self._pending:
                self.env.process(self._await_ack(self._pending[head.packet.packet_id]))

    def _await_ack(self, pending: _Pending) -> Generator[simpy.Event, None, None]:
        yield self.env.timeout(self._retransmission_s(pending.packet))
        if pending.acked or self._pending.get(pending.packet.packet_id) is not pending:
            return
        if pending.retries_left <= 0:
            self.counters.retries_exhausted += 1
            del self._pending[pending.packet.packet_id]
            return
        pending.retries_left -= 1
        self.counters.retransmissions += 1
        self._enqueue(pending.packet, self._own_delay_s(), relay=False)

    def _ack(self, packet_id: int) -> None:
        pending = self._pending.pop(packet_id, None)
        if pending is not None:
            pending.acked = True

    # -- receiving ----------------------------------------------------------------------------------
    def on_decoded(self, packet: Packet, sender: int, snr: float) -> None:
        """Handle a frame the channel decoded at this node."""
        me = self.node.node_id
        if packet.origin == me:
            if packet.dest is None:
                self._ack(packet.packet_id)  # someone rebroadcast our broadcast: implicit ACK
            return
        if packet.kind == "routing_ack" and packet.dest == me and packet.request_id is not None:
            self._ack(packet.request_id)
        if packet.key in self.seen:
            self._on_duplicate(packet)
            return
        self.seen.add(packet.key)
        self.on_first_heard(me, packet, snr)
        if packet.dest == me:
            if packet.want_ack:
                self._send_routing_ack(packet)
            return
        if packet.hop_limit > 0 and self.node.role != "client_mute" and self._duty_cycle_allows(packet):
            relay = replace(packet, hop_limit=packet.hop_limit - 1)
            self.counters.rebroadcasts_queued += 1
            self._enqueue(relay, self._relay_delay_s(snr), relay=True)

    def _on_duplicate(self, packet: Packet) -> None:
        self.counters.duplicates_heard += 1
        if packet.dest == self.node.node_id and packet.want_ack:
            self._send_routing_ack(packet)  # the sender retransmitted: our ACK was lost
            return
        if self.node.role == "router":
            return  # routers never cancel a rebroadcast
        for q in self._queue:
            if q.relay and not q.cancelled and q.packet.key == packet.key:
                q.cancelled = True
                self.counters.rebroadcasts_cancelled += 1

    def _send_routing_ack(self, packet: Packet) -> None:
        hops_used = packet.hops_taken
        limit = self.timing.default_hop_limit
        hop_limit = hops_used if hops_used > limit else min(hops_used + 2, limit) if packet.hop_start else 0
        ack = Packet(
            packet_id=self.rng.getrandbits(31) | 1 << 31,
            origin=self.node.node_id,
            kind="routing_ack",
            payload_bytes=8,
            hop_start=hop_limit,
            hop_limit=hop_limit,
            dest=packet.origin,
            ref=packet.ref,
            request_id=packet.packet_id,
        )
        self.counters.routing_acks_sent += 1
        self.seen.add(ack.key)
        self._enqueue(ack, self._own_delay_s(), relay=False)
