"""The mesh of each ward over the whole window: which frame reaches the gateway's radio, when, how.

The seeded mesh model (``simulations.mesh``) runs ahead of the replay, one ward at a time (two wards at
once on two processes): residents' SOS and cancels with the firmware's retries until the gateway's
ACK comes back over the mesh, the gauges' readings, the duty officer's radio, roof-top relays, 25 %
extra loss on every hop, and radios that lose power. What the gateway hears (every packet, each copy of
a retried SOS included) is then played into the real gateway's simulated radio at its scaled time.
Downlinks get the model's delay too: a button's ACK is the model's own (the gateway ACKs each SOS it
hears), and an officer's texts take a one-way delay drawn from the officer's radio traffic in the model.
"""

import math
import multiprocessing
import random
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field

from simulations.hue2023.coverage import plan_relays
from simulations.hue2023.timeline import STATION_OF_WARD, Timeline
from simulations.mesh.flooding import FirmwareTiming
from simulations.mesh.metrics import covered_nodes, utilisation_series
from simulations.mesh.model import FloodmeshBehaviour, MeshModel, Reception, Transmission
from simulations.mesh.packet import Packet
from simulations.mesh.physics import PRESETS, REGIONS
from simulations.mesh.topology import LinkTable, MeshNode, Topology, physical_links, ward_topology
from simulations.mesh.traffic import OFFICIAL_COMMAND_BYTES, SOS_BYTES, WATER_LEVEL_BYTES
from simulations.ward_sites import WardShapes, load_stations

GATEWAY_NODE = 1
OFFICER_NODE = 50
SENSOR_BASE, RELAY_BASE, BUTTON_BASE = 100, 500, 1000
KM2_PER_RELAY = 8.0  # roof-top relays a ward deploys: one per ~8 km² (at least 2), then coverage.py's
PRESET = "LONG_FAST"  # Meshtastic's default, which the model runs
# A button unanswered after this many sends (~40 min: 5, 10, 20, 40 s then every minute) stops in the
# model. The firmware keeps trying; the cap bounds the run time (a button out of reach would otherwise
# flood its neighbourhood every minute for days) and is reported.
SOS_MAX_SENDS = 40
RADIO_CHECK_EVERY_S = 3600.0  # the duty officer's radio traffic that measures its one-way delay
TAIL_S = 3600.0  # the model runs on after the window so late retries settle


@dataclass(frozen=True)
class Heard:
    """One packet the gateway decoded: what (``ref``), when (s into the window), after how many hops."""

    ref: str
    at_s: float
    hops: int
    snr_db: float


@dataclass
class WardAir:
    """What the mesh did in one ward."""

    ward: str
    nodes: int
    relays: int  # roof-top relays, those the coverage survey added included
    covered_buttons_ratio: float
    heard: list[Heard] = field(default_factory=list)
    first_sent_s: dict[str, float] = field(default_factory=dict)  # ref -> first transmission
    acked_s: dict[str, float] = field(default_factory=dict)  # ref -> when the origin heard the app ACK
    officer_delays_s: list[float] = field(default_factory=list)  # one-way, officer radio -> gateway
    officer_checks_lost: int = 0
    covered_buttons: set[int] = field(default_factory=set)  # button indices with a path to the gateway
    channel_util: list[tuple[float, float]] = field(default_factory=list)  # at the gateway, (t, 0..1)
    collision_rate: float = 0.0
    frames_sent: int = 0
    relays_for_coverage: int = 0  # of ``relays``, those the coverage survey added (coverage.py)

    def first_heard(self, ref: str) -> Heard | None:
        """The gateway's first reception of ``ref`` (any of its retries)."""
        return next((h for h in self.heard if h.ref == ref), None)

    def officer_delay(self, rng: random.Random) -> float:
        """A one-way delay between the officer's radio and the gateway, as the model measured them
        (a lost message costs the officer a resend two minutes later)."""
        if not self.officer_delays_s:
            return 5.0
        delay = rng.choice(self.officer_delays_s)
        lost_share = self.officer_checks_lost / max(1, self.officer_checks_lost + len(self.officer_delays_s))
        while rng.random() < lost_share:
            delay += 120.0
        return delay


def sos_ref(ward: str, button: int, press: int) -> str:
    """The model's name for press ``press`` of ``button`` in ``ward`` (an SOS or a cancel)."""
    return f"sos:{ward}:{button}:{press}"


def reading_ref(ward: str, sensor: int, seq: int) -> str:
    """The model's name for reading ``seq`` of the ward's sensor ``sensor``."""
    return f"wl:{ward}:{sensor}:{seq}"


def ward_mesh(timeline: Timeline, ward: str) -> tuple[Topology, int]:
    """The ward's radios (gateway, buttons in homes, gauges at the station, the officer, roof-top relays)
    and how many relays the coverage survey added to reach every home."""
    cfg = timeline.config
    sensors = cfg.sensors_per_station if _station_ward(ward) else 0
    base = ward_topology(ward, buttons=timeline.buttons_per_ward[ward], sensors=sensors, handhelds=1, seed=cfg.seed)
    shapes = WardShapes()
    km2 = shapes.geometry(ward).area * 111.0 * 111.0 * math.cos(math.radians(16.45))
    rng = random.Random(f"hue2023-relays:{ward}:{cfg.seed}")
    relays = tuple(MeshNode(RELAY_BASE + i, "relay", *shapes.random_point(ward, rng), 12.0, 14.0, "router", 3.0)
                   for i in range(max(2, math.ceil(km2 / KM2_PER_RELAY))))

    def links_for(nodes: Sequence[MeshNode]) -> LinkTable:
        return physical_links(nodes, REGIONS["VN"], base.terrain, random.Random(f"hue2023-links:{ward}:{cfg.seed}"))

    buttons = [n.node_id for n in base.nodes if n.kind == "button"]
    nodes, links, added = plan_relays(base.nodes + relays, links_for, GATEWAY_NODE, buttons,
                                       PRESETS[PRESET].sensitivity_dbm, FirmwareTiming().default_hop_limit + 1,
                                       RELAY_BASE + len(relays))
    return Topology(ward, nodes, links, base.region, base.terrain), added


def _station_ward(ward: str) -> bool:
    return any(s.ward == ward and s.station_id == STATION_OF_WARD[ward] for s in load_stations())


def _transmissions(timeline: Timeline, ward: str, topology: Topology) -> list[Transmission]:
    cfg = timeline.config
    rng = random.Random(f"hue2023-traffic:{ward}:{cfg.seed}")
    txs: list[Transmission] = []
    for incident in (i for i in timeline.incidents if i.ward == ward):
        for k, press in enumerate(incident.presses):
            txs.append(Transmission(press.t, BUTTON_BASE + incident.button, "sos", SOS_BYTES,
                                    sos_ref(ward, incident.button, k)))
    for s, node in enumerate(topology.ids("sensor")):
        t, seq = rng.uniform(0, cfg.reading_every_s), 0
        while t < cfg.duration_s:
            txs.append(Transmission(t, node, "telemetry", WATER_LEVEL_BYTES, reading_ref(ward, s, seq)))
            t, seq = t + cfg.reading_every_s, seq + 1
    t, n = rng.uniform(0, RADIO_CHECK_EVERY_S), 0
    while t < cfg.duration_s:
        txs.append(Transmission(t, OFFICER_NODE, "text", OFFICIAL_COMMAND_BYTES, f"cmd:{n}", dest=GATEWAY_NODE))
        t, n = t + RADIO_CHECK_EVERY_S, n + 1
    return sorted(txs, key=lambda tx: tx.at_s)


def run_ward(timeline: Timeline, ward: str, extra_loss: float = 0.25) -> WardAir:
    """Run the ward's mesh over the window (plus a tail for late retries) and keep what the gateway heard."""
    cfg = timeline.config
    topology, survey_relays = ward_mesh(timeline, ward)
    heard: list[Heard] = []

    def on_reception(r: Reception) -> None:
        if r.node == GATEWAY_NODE and r.kind in ("sos", "telemetry", "text"):
            heard.append(Heard(r.ref, r.at_s, r.hops, r.snr_db))

    model = MeshModel(topology, seed=cfg.seed, preset=PRESET, extra_loss=extra_loss, on_reception=on_reception,
                      behaviour=FloodmeshBehaviour(sos_max_sends=SOS_MAX_SENDS))
    off = {BUTTON_BASE + p.button: p.at_s for p in timeline.power_losses if p.ward == ward}
    _power_losses(model, off)
    for tx in _transmissions(timeline, ward, topology):
        if tx.at_s < off.get(tx.origin, math.inf):
            model.submit(tx)
    model.run(cfg.duration_s + TAIL_S)
    air = _collect(model, ward, topology, heard)
    air.relays_for_coverage = survey_relays
    return air


def _power_losses(model: MeshModel, off: dict[int, float]) -> None:
    """A radio without power decodes nothing from ``off[node]`` on, so it relays nothing either."""
    routers = model.routers

    def receive(rx: int, packet: Packet, tx: int, snr: float) -> None:
        if model.now_s < off.get(rx, math.inf):
            routers[rx].on_decoded(packet, tx, snr)

    model.channel.set_receiver(receive)


def _collect(model: MeshModel, ward: str, topology: Topology, heard: list[Heard]) -> WardAir:
    covered = covered_nodes(model)
    buttons = topology.ids("button")
    air = WardAir(ward, len(topology.nodes), len(topology.ids("relay")),
                  sum(1 for b in buttons if b in covered) / max(1, len(buttons)), heard)
    for ref, origination in model.originations.items():
        air.first_sent_s[ref] = origination.first_s
        if origination.acked_s is not None:
            air.acked_s[ref] = origination.acked_s
    air.covered_buttons = {b - BUTTON_BASE for b in buttons if b in covered}
    checks = {h.ref: h.at_s for h in heard if h.ref.startswith("cmd:")}
    for ref, first in air.first_sent_s.items():
        if ref.startswith("cmd:"):
            if ref in checks:
                air.officer_delays_s.append(checks[ref] - first)
            else:
                air.officer_checks_lost += 1
    series = utilisation_series(model, GATEWAY_NODE)
    air.channel_util = series[:: 6]  # one point a minute is plenty for a 72 h plot
    counters = model.channel.counters
    air.collision_rate = counters.collisions / max(1, counters.sensed)
    air.frames_sent = counters.frames_sent
    return air


def run_all(timeline: Timeline, workers: int = 2, extra_loss: float = 0.25) -> dict[str, WardAir]:
    """Every ward's mesh, ``workers`` wards at a time (each model is single-threaded)."""
    wards = list(timeline.config.wards)
    if workers <= 1 or len(wards) == 1:
        return {w: run_ward(timeline, w, extra_loss) for w in wards}
    # spawn, not fork: the caller runs radio and backhaul threads, which a forked child would inherit half-held.
    with ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        results = pool.map(run_ward, [timeline] * len(wards), wards, [extra_loss] * len(wards))
        return dict(zip(wards, results, strict=True))

