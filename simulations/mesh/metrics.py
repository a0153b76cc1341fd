"""What a run of the mesh model measured: the standard mesh metrics and floodmesh's own.

Standard ones are defined as the Meshtasticator defines them, so figures compare: reachability =
distinct packets received from others / (messages x (N - 1)); usefulness = first receptions / all
receptions; collision rate = collisions / packets sensed (arrivals at or above sensitivity); channel
utilisation as the firmware measures it (airtime sensed over a sliding minute). floodmesh's: SOS
delivery ratio to the ward gateway (of all SOS, and of those from buttons the mesh covers at all),
latency by hop count, the button's wait for its ACK, telemetry delivered.
"""

import statistics
from collections import defaultdict, deque
from collections.abc import Iterable
from dataclasses import asdict, dataclass

from simulations.mesh.channel import UTIL_BUCKET_S, UTIL_WINDOW_BUCKETS
from simulations.mesh.model import MeshModel
from simulations.mesh.topology import LinkTable


@dataclass(frozen=True)
class LatencyStats:
    """Count and percentiles (seconds) of one set of latencies."""

    count: int
    p50_s: float | None
    p95_s: float | None
    max_s: float | None


@dataclass(frozen=True)
class MeshMetrics:
    """The summary of one run (``--summary-json`` prints it as one JSON line)."""

    ward: str
    preset: str
    nodes: int
    duration_s: float
    messages: int
    frames_sent: int
    reachability: float
    usefulness: float
    collision_rate: float
    channel_util_gateway_mean: float
    channel_util_gateway_max: float
    channel_util_node_mean: float
    covered_buttons_ratio: float
    sos_sent: int
    sos_delivered_ratio: float
    sos_delivered_ratio_covered: float
    sos_deadline_s: float
    sos_in_deadline_ratio_covered: float
    sos_latency: LatencyStats
    sos_latency_by_hops: dict[int, LatencyStats]
    button_ack_ratio: float
    button_ack: LatencyStats
    telemetry_generated: int
    telemetry_delivered_ratio: float
    telemetry_held_back: int
    counters: dict[str, int | float]

    def as_json(self) -> dict[str, object]:
        """A JSON-ready dict (hop counts as string keys)."""
        d = asdict(self)
        d["sos_latency_by_hops"] = {str(k): v for k, v in d["sos_latency_by_hops"].items()}
        return d


def latency_stats(values: list[float]) -> LatencyStats:
    """Median, 95th percentile and maximum of ``values`` (None when empty)."""
    if not values:
        return LatencyStats(0, None, None, None)
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]
    return LatencyStats(len(values), round(statistics.median(ordered), 3), round(p95, 3), round(ordered[-1], 3))


def covered_nodes(model: MeshModel) -> set[int]:
    """Nodes with a path of decodable links to a gateway within the hop limit (the mesh idle)."""
    return reaching(model.topology.links, model.gateways, model.preset.sensitivity_dbm,
                    model.timing.default_hop_limit + 1)


def reaching(links: LinkTable, gateways: Iterable[int], sensitivity_dbm: float, max_links: int) -> set[int]:
    """Nodes whose frames reach one of ``gateways`` over at most ``max_links`` links at or above
    ``sensitivity_dbm`` (the gateways included)."""
    senders_to: dict[int, list[int]] = defaultdict(list)
    for (tx, rx), rssi in links.rssi_dbm.items():
        if rssi >= sensitivity_dbm:
            senders_to[rx].append(tx)
    depth = dict.fromkeys(gateways, 0)
    frontier = deque(depth)
    while frontier:
        rx = frontier.popleft()
        if depth[rx] >= max_links:
            continue
        for tx in senders_to[rx]:
            if tx not in depth:
                depth[tx] = depth[rx] + 1
                frontier.append(tx)
    return set(depth)


def utilisation_series(model: MeshModel, node: int) -> list[tuple[float, float]]:
    """(time s, channel utilisation 0..1 over the minute ending then) every 10 s, as ``node`` measures it."""
    busy = model.channel.busy_series(node)
    last = int(model.now_s // UTIL_BUCKET_S)
    series = []
    for b in range(last + 1):
        sensed = sum(busy.get(i, 0.0) for i in range(b - UTIL_WINDOW_BUCKETS + 1, b + 1))
        series.append(((b + 1) * UTIL_BUCKET_S, min(1.0, sensed / (UTIL_BUCKET_S * UTIL_WINDOW_BUCKETS))))
    return series


def _gateway_firsts(model: MeshModel) -> dict[str, tuple[float, int]]:
    firsts: dict[str, tuple[float, int]] = {}
    for r in model.receptions:
        if r.node in model.gateways and r.ref not in firsts:
            firsts[r.ref] = (r.at_s, r.hops)
    return firsts


def measure(model: MeshModel, ward: str | None = None, sos_deadline_s: float = 300.0) -> MeshMetrics:
    """Compute every metric from a model that has run; an SOS counts as in time within ``sos_deadline_s``."""
    c, rc, n = model.channel.counters, model.router_counters, len(model.topology.nodes)
    firsts = _gateway_firsts(model)
    covered = covered_nodes(model)
    buttons = model.topology.ids("button")
    sos = [o for o in model.originations.values() if o.kind == "sos"]
    sos_covered = [o for o in sos if o.origin in covered and o.first_s + sos_deadline_s <= model.now_s]
    latencies, by_hops = [], defaultdict(list)
    for o in sos:
        if o.ref in firsts:
            at, hops = firsts[o.ref]
            latencies.append(at - o.first_s)
            by_hops[hops].append(at - o.first_s)
    acked = [o.acked_s - o.first_s for o in sos if o.acked_s is not None]
    telemetry = [o for o in model.originations.values() if o.kind == "telemetry"]
    gw = next(iter(sorted(model.gateways)), None)
    gw_util = [u for _, u in utilisation_series(model, gw)] if gw is not None else [0.0]
    duration = max(model.now_s, 1e-9)
    node_util = [sum(model.channel.busy_series(x.node_id).values()) / duration for x in model.topology.nodes]
    first_total = sum(model.first_receptions_by_packet.values())
    return MeshMetrics(
        ward=ward or model.topology.ward,
        preset=model.preset.name,
        nodes=n,
        duration_s=model.now_s,
        messages=len(model.messages),
        frames_sent=c.frames_sent,
        reachability=round(first_total / (len(model.messages) * (n - 1)), 4) if model.messages and n > 1 else 0.0,
        usefulness=round(model.first_heard_total / c.decoded, 4) if c.decoded else 0.0,
        collision_rate=round(c.collisions / c.sensed, 4) if c.sensed else 0.0,
        channel_util_gateway_mean=round(statistics.fmean(gw_util), 4),
        channel_util_gateway_max=round(max(gw_util), 4),
        channel_util_node_mean=round(statistics.fmean(node_util), 4) if node_util else 0.0,
        covered_buttons_ratio=round(sum(1 for b in buttons if b in covered) / len(buttons), 4) if buttons else 1.0,
        sos_sent=len(sos),
        sos_delivered_ratio=round(sum(1 for o in sos if o.ref in firsts) / len(sos), 4) if sos else 1.0,
        sos_delivered_ratio_covered=(
            round(sum(1 for o in sos_covered if o.ref in firsts) / len(sos_covered), 4) if sos_covered else 1.0
        ),
        sos_deadline_s=sos_deadline_s,
        sos_in_deadline_ratio_covered=(
            round(sum(1 for o in sos_covered if o.ref in firsts and firsts[o.ref][0] - o.first_s <= sos_deadline_s)
                  / len(sos_covered), 4) if sos_covered else 1.0
        ),
        sos_latency=latency_stats(latencies),
        sos_latency_by_hops={h: latency_stats(v) for h, v in sorted(by_hops.items())},
        button_ack_ratio=round(len(acked) / len(sos), 4) if sos else 1.0,
        button_ack=latency_stats(acked),
        telemetry_generated=len(telemetry),
        telemetry_delivered_ratio=(
            round(sum(1 for o in telemetry if o.ref in firsts) / len(telemetry), 4) if telemetry else 1.0
        ),
        telemetry_held_back=sum(o.held_back for o in telemetry),
        counters={**asdict(rc), **{k: v for k, v in asdict(c).items() if k != "by_kind_sent"},
                  **{f"sent_{k}": v for k, v in sorted(c.by_kind_sent.items())}},
    )
