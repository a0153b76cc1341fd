"""The mesh model: give it a topology and timed transmissions, it says which frame reaches whom, when.

``MeshModel`` is the one entry point for everything that needs the mesh (the capacity benchmark, the
CLI, and the 72 h scenario on real processes, which can ``submit`` as presses happen and ``run`` in
steps alongside its scaled clock, taking each ``Reception`` from ``on_reception``). On top of the
firmware's flooding it plays floodmesh's two mesh behaviours: the gateway ACKs every SOS packet it hears
with a direct message (the button's LED), and a button that sees no such ACK sends again on the
firmware's own schedule (``firmware/sos_button.py``: 5, 10, 20, 40 s, then every minute until an ACK),
each time a new Meshtastic packet carrying the same floodmesh frame, so the same ``ref``.
"""

import random
from collections.abc import Callable, Generator, Iterable
from dataclasses import dataclass, field

import simpy

from firmware.sos_button import retry_delay_ms
from simulations.mesh.channel import Channel
from simulations.mesh.flooding import FirmwareTiming, MeshRouter, RouterCounters
from simulations.mesh.packet import Packet, PacketKind
from simulations.mesh.physics import PRESETS
from simulations.mesh.topology import Topology

ACK_KINDS: frozenset[str] = frozenset({"app_ack", "routing_ack"})
ACK_BYTES = 36  # floodmesh's Ack frame in a Data protobuf (simulations/mesh/traffic.py checks the codec)


@dataclass(frozen=True)
class Transmission:
    """A packet a node originates at ``at_s`` (seconds of simulated time); ``ref`` names its content."""

    at_s: float
    origin: int
    kind: PacketKind
    payload_bytes: int
    ref: str
    want_ack: bool = True
    dest: int | None = None  # None: broadcast, as floodmesh's buttons and sensors send
    hop_limit: int = 3


@dataclass(frozen=True)
class Reception:
    """The first time ``node`` decoded a packet: what (``ref``, ``packet_id``), when, after how many hops."""

    ref: str
    kind: PacketKind
    origin: int
    node: int
    packet_id: int
    at_s: float
    hops: int
    snr_db: float


@dataclass(frozen=True)
class FloodmeshBehaviour:
    """floodmesh's application on the mesh: the gateway's ACK to the button, the button's own retries."""

    gateway_acks_sos: bool = True
    gateway_processing_s: float = 0.5  # verify the frame, write the outbox, build the ACK
    app_ack_payload_bytes: int = ACK_BYTES
    sos_max_sends: int | None = None  # None: as the firmware, until the ACK comes

    @staticmethod
    def sos_retry_delay_s(sends: int) -> float:
        """The button's wait before its next send (firmware/sos_button.py: 5, 10, 20, 40 s, then 60 s)."""
        return retry_delay_ms(sends) / 1000.0


@dataclass
class Origination:
    """One ``ref`` as its origin saw it: when first sent, packets tried, when its app ACK arrived."""

    ref: str
    kind: PacketKind
    origin: int
    first_s: float
    packet_ids: list[int] = field(default_factory=list)
    held_back: int = 0
    acked_s: float | None = None


class MeshModel:
    """A discrete-event model (SimPy) of one mesh: channel, a firmware router per node, floodmesh's app."""

    def __init__(
        self,
        topology: Topology,
        preset: str = "LONG_FAST",
        *,
        seed: int = 7,
        timing: FirmwareTiming | None = None,
        behaviour: FloodmeshBehaviour | None = None,
        extra_loss: float = 0.0,
        watch: Iterable[int] | None = None,
        on_reception: Callable[[Reception], None] | None = None,
    ) -> None:
        if preset not in PRESETS:
            raise ValueError(f"unknown preset {preset!r}; choose one of {', '.join(PRESETS)}")
        self.topology = topology
        self.preset = PRESETS[preset]
        self.env = simpy.Environment()
        self.behaviour = behaviour or FloodmeshBehaviour()
        self.timing = timing or FirmwareTiming()
        self._rng = random.Random(f"mesh-model:{seed}")
        self.channel = Channel(self.env, topology, self.preset, random.Random(f"mesh-loss:{seed}"), extra_loss)
        self.router_counters = RouterCounters()
        self.gateways = frozenset(topology.ids("gateway"))
        self.watch = frozenset(watch) if watch is not None else self.gateways | set(topology.ids("handheld"))
        self.receptions: list[Reception] = []
        self.originations: dict[str, Origination] = {}
        self.first_receptions_by_packet: dict[int, int] = {}
        self.messages: set[int] = set()
        self.first_heard_total = 0
        self._on_reception = on_reception
        self._refs_by_packet: dict[int, str] = {}
        self.routers: dict[int, MeshRouter] = {}
        for node in topology.nodes:
            duty = topology.region.duty_cycle_for(node.tx_power_dbm) / 100.0
            self.routers[node.node_id] = MeshRouter(
                self.env, node, self.channel, random.Random(f"mesh-node:{seed}:{node.node_id}"), self.timing,
                self.router_counters, duty, self._first_heard,
            )
        self.channel.set_receiver(lambda rx, p, tx, snr: self.routers[rx].on_decoded(p, tx, snr))

    @property
    def now_s(self) -> float:
        """Simulated time reached so far."""
        return float(self.env.now)

    def submit(self, tx: Transmission) -> None:
        """Schedule ``tx`` (at or after the current simulated time)."""
        if tx.origin not in self.routers:
            raise ValueError(f"transmission from unknown node {tx.origin}; the topology has {len(self.routers)} nodes")
        self.env.process(self._originate_at(tx, attempt=0))

    def submit_all(self, txs: Iterable[Transmission]) -> None:
        """Schedule many transmissions."""
        for tx in txs:
            self.submit(tx)

    def run(self, until_s: float) -> None:
        """Advance simulated time to ``until_s`` (call again to go on)."""
        if until_s > self.env.now:
            self.env.run(until=until_s)

    def _originate_at(self, tx: Transmission, attempt: int) -> Generator[simpy.Event, None, None]:
        yield self.env.timeout(max(0.0, tx.at_s - self.env.now))
        self._originate(tx, attempt)

    def _new_packet_id(self) -> int:
        return self._rng.getrandbits(31) + 1

    def _originate(self, tx: Transmission, attempt: int) -> None:
        origination = self.originations.setdefault(tx.ref, Origination(tx.ref, tx.kind, tx.origin, self.env.now))
        if origination.acked_s is not None:
            return
        packet = Packet(self._new_packet_id(), tx.origin, tx.kind, tx.payload_bytes, tx.hop_limit, tx.hop_limit,
                        tx.want_ack, tx.dest, tx.ref)
        if not self.routers[tx.origin].originate(packet):
            origination.held_back += 1
            return
        origination.packet_ids.append(packet.packet_id)
        self._refs_by_packet[packet.packet_id] = tx.ref
        if tx.kind not in ACK_KINDS:
            self.messages.add(packet.packet_id)
        b = self.behaviour
        if tx.kind == "sos" and b.gateway_acks_sos and (b.sos_max_sends is None or attempt + 1 < b.sos_max_sends):
            self.env.process(self._retry_unless_acked(tx, attempt))

    def _retry_unless_acked(self, tx: Transmission, attempt: int) -> Generator[simpy.Event, None, None]:
        yield self.env.timeout(self.behaviour.sos_retry_delay_s(attempt + 1))
        if self.originations[tx.ref].acked_s is None:
            self._originate(tx, attempt + 1)

    def _first_heard(self, node: int, packet: Packet, snr: float) -> None:
        self.first_heard_total += 1
        if packet.packet_id in self.messages:
            counts = self.first_receptions_by_packet
            counts[packet.packet_id] = counts.get(packet.packet_id, 0) + 1
        if node in self.watch or packet.dest == node:
            reception = Reception(packet.ref, packet.kind, packet.origin, node, packet.packet_id, self.env.now,
                                  packet.hops_taken, snr)
            self.receptions.append(reception)
            if self._on_reception is not None:
                self._on_reception(reception)
        if packet.kind == "app_ack" and packet.dest == node:
            origination = self.originations.get(packet.ref)
            if origination is not None and origination.acked_s is None:
                origination.acked_s = self.env.now
        if node in self.gateways and packet.kind == "sos" and self.behaviour.gateway_acks_sos:
            ack = Transmission(self.env.now + self.behaviour.gateway_processing_s, node, "app_ack",
                               self.behaviour.app_ack_payload_bytes, packet.ref, want_ack=True, dest=packet.origin)
            self.env.process(self._send_app_ack(ack))

    def _send_app_ack(self, ack: Transmission) -> Generator[simpy.Event, None, None]:
        yield self.env.timeout(max(0.0, ack.at_s - self.env.now))
        packet = Packet(self._new_packet_id(), ack.origin, "app_ack", ack.payload_bytes, ack.hop_limit, ack.hop_limit,
                        True, ack.dest, ack.ref)
        self.routers[ack.origin].originate(packet)
