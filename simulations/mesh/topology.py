"""Where the radios are and what each one hears: nodes placed on a Huế ward, and the link table.

A topology is data: a tuple of ``MeshNode`` and a ``LinkTable`` of received power per directed link.
``ward_topology`` places one ward's radios from the shipped ward polygons and stations (seeded);
``graph_topology`` turns a ``dict[int, set[int]]`` graph into the same shape for tiny test meshes.
"""

import math
import random
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Literal

from shapely.geometry import Point

from simulations.mesh.physics import REGIONS, TERRAINS, Region, TerrainName, draw_shadowing_db
from simulations.ward_sites import WardShapes, load_stations

NodeKind = Literal["gateway", "button", "sensor", "handheld", "relay"]  # relay: a roof-top ROUTER
NodeRole = Literal["client", "router", "client_mute"]
WEAKEST_KEPT_DBM = -146.0  # below every preset's sensitivity minus the capture margin: cannot matter
EARTH_RADIUS_M = 6_371_000.0


@dataclass(frozen=True)
class MeshNode:
    """One radio: its id, what it is, where, how high its antenna is and how loud it transmits."""

    node_id: int
    kind: NodeKind
    lat: float
    lon: float
    height_m: float
    tx_power_dbm: float
    role: NodeRole = "client"
    antenna_gain_dbi: float = 0.0


@dataclass(frozen=True)
class NodePlacement:
    """Antenna height, power and role of each kind of node (data, so a scenario can change them)."""

    heights_m: Mapping[NodeKind, float] = field(
        default_factory=lambda: {"gateway": 12.0, "button": 1.5, "sensor": 3.0, "handheld": 1.5}
    )
    tx_power_dbm: float = 14.0  # Vietnam's 25 mW ERP
    gateway_gain_dbi: float = 3.0  # a roof-top collinear; the others have the stock 0 dBi whip
    hamlet_spread_m: float = 300.0  # homes cluster around hamlets, not uniformly over rice fields
    homes_per_hamlet: int = 12


@dataclass(frozen=True)
class LinkTable:
    """Received power (dBm) per directed link ``(sender, receiver)``; absent links are too weak to matter."""

    rssi_dbm: Mapping[tuple[int, int], float]

    def heard_by(self, sender: int) -> dict[int, float]:
        """Every receiver of ``sender`` with its received power."""
        return {rx: p for (tx, rx), p in self.rssi_dbm.items() if tx == sender}


@dataclass(frozen=True)
class Topology:
    """A mesh: nodes, their links, the ward they serve and the region's rules."""

    ward: str
    nodes: tuple[MeshNode, ...]
    links: LinkTable
    region: Region
    terrain: TerrainName

    def ids(self, kind: NodeKind) -> list[int]:
        """Ids of the nodes of one kind."""
        return [n.node_id for n in self.nodes if n.kind == kind]

    def node(self, node_id: int) -> MeshNode:
        """The node with this id."""
        for n in self.nodes:
            if n.node_id == node_id:
                return n
        known = [n.node_id for n in self.nodes]
        raise KeyError(f"no node {node_id} in ward {self.ward}'s topology; pick one of {known}")


def distance_m(a: MeshNode, b: MeshNode) -> float:
    """Great-circle distance between two nodes (haversine)."""
    p1, p2 = math.radians(a.lat), math.radians(b.lat)
    dp, dl = p2 - p1, math.radians(b.lon - a.lon)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(math.sqrt(h))


def physical_links(
    nodes: Iterable[MeshNode], region: Region, terrain: TerrainName, rng: random.Random, shadowing_sigma_db: float = 3.0
) -> LinkTable:
    """Link budget of every directed pair: P_tx + G_tx + G_rx - (path loss + static shadowing)."""
    model = TERRAINS[terrain]
    freq = region.centre_hz
    nodes = list(nodes)
    table: dict[tuple[int, int], float] = {}
    for tx in nodes:
        power = min(tx.tx_power_dbm, region.power_limit_dbm)
        for rx in nodes:
            if rx.node_id == tx.node_id:
                continue
            loss = model.path_loss_db(distance_m(tx, rx), freq, tx.height_m, rx.height_m)
            rssi = power + tx.antenna_gain_dbi + rx.antenna_gain_dbi - loss - draw_shadowing_db(rng, shadowing_sigma_db)
            if rssi >= WEAKEST_KEPT_DBM:
                table[(tx.node_id, rx.node_id)] = rssi
    return LinkTable(table)


def graph_topology(
    graph: Mapping[int, set[int]],
    rssi_dbm: float = -100.0,
    *,
    kinds: Mapping[int, NodeKind] | None = None,
    edge_rssi_dbm: Mapping[tuple[int, int], float] | None = None,
    region: str = "KR",
) -> Topology:
    """A test mesh from an adjacency graph: every listed edge (both ways) at ``rssi_dbm`` (or its own value
    in ``edge_rssi_dbm``, which also sets that direction alone), nothing else heard."""
    ids = sorted(set(graph) | {m for ns in graph.values() for m in ns})
    kinds = kinds or {}
    nodes = tuple(MeshNode(i, kinds.get(i, "button"), 0.0, 0.0, 1.5, 14.0) for i in ids)
    table: dict[tuple[int, int], float] = {}
    for a, neighbours in graph.items():
        for b in neighbours:
            table[(a, b)] = rssi_dbm
            table[(b, a)] = rssi_dbm
    table.update(edge_rssi_dbm or {})
    return Topology("test", nodes, LinkTable(table), REGIONS[region], "suburban")


def _hamlet_homes(shapes: WardShapes, ward: str, count: int, placement: NodePlacement, rng: random.Random) -> list[
    tuple[float, float]
]:
    """Home sites: hamlet centres uniform in the ward, homes Gaussian around them, all inside the ward."""
    geom = shapes.geometry(ward)
    homes: list[tuple[float, float]] = []
    hamlets = [shapes.random_point(ward, rng) for _ in range(max(1, math.ceil(count / placement.homes_per_hamlet)))]
    metres_per_deg = math.pi * EARTH_RADIUS_M / 180
    while len(homes) < count:
        lat0, lon0 = hamlets[len(homes) % len(hamlets)]
        lat = lat0 + rng.gauss(0, placement.hamlet_spread_m) / metres_per_deg
        lon = lon0 + rng.gauss(0, placement.hamlet_spread_m) / (metres_per_deg * math.cos(math.radians(lat0)))
        if geom.contains(Point(lon, lat)):
            homes.append((lat, lon))
    return homes


def ward_topology(
    ward: str,
    *,
    buttons: int,
    sensors: int,
    handhelds: int = 3,
    seed: int = 7,
    region: str = "VN",
    terrain: TerrainName = "suburban",
    placement: NodePlacement | None = None,
) -> Topology:
    """One ward's radios: the gateway on a roof at the ward's centre, buttons in homes, sensors at the
    stations central knows in this ward (the rest along the ward, as gauges on bridges), officials'
    handhelds near the gateway (the ward People's Committee). Seeded: same arguments, same mesh."""
    placement = placement or NodePlacement()
    shapes = WardShapes()
    if ward not in shapes.names:
        raise ValueError(f"unknown ward code {ward!r}; use a 2025 GSO code from central/data/hue_wards.geojson")
    rng = random.Random(f"mesh-topology:{ward}:{seed}")
    centre = shapes.geometry(ward).representative_point()
    heights, power = placement.heights_m, placement.tx_power_dbm
    gain = placement.gateway_gain_dbi
    nodes = [MeshNode(1, "gateway", centre.y, centre.x, heights["gateway"], power, "client", gain)]
    station_sites = [(s.lat, s.lon) for s in load_stations() if s.ward == ward]
    sites = station_sites[:sensors] + [shapes.random_point(ward, rng) for _ in range(sensors - len(station_sites))]
    nodes += [MeshNode(100 + i, "sensor", lat, lon, heights["sensor"], power) for i, (lat, lon) in enumerate(sites)]
    for i in range(handhelds):
        lat = centre.y + rng.gauss(0, 0.003)
        lon = centre.x + rng.gauss(0, 0.003)
        nodes.append(MeshNode(50 + i, "handheld", lat, lon, heights["handheld"], power))
    homes = _hamlet_homes(shapes, ward, buttons, placement, rng)
    nodes += [MeshNode(1000 + i, "button", lat, lon, heights["button"], power) for i, (lat, lon) in enumerate(homes)]
    links = physical_links(nodes, REGIONS[region], terrain, rng)
    return Topology(ward, tuple(nodes), links, REGIONS[region], terrain)
