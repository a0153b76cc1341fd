"""How many sensors + buttons one ward's mesh carries before SOS delivery falls below 99 %.

For each preset (LONG_FAST, the default, and MEDIUM_FAST, the faster one a ward could switch to), the
mesh model (``simulations/mesh``) runs a flood's worst traffic on one ward for ``sim_s`` simulated
seconds over ``seeds`` seeded topologies: sensors (one node in twenty) reporting every minute, SOS
presses at 0.05 per home per hour but never fewer than ``SOS_PER_HOUR_FLOOR`` in the ward (so the
ratio is measured on enough presses), buttons' daily status, officials' commands. An SOS counts as
delivered if the gateway heard it within ``SOS_DEADLINE_S`` of the press (the button retrying on its
firmware's schedule meanwhile), among SOS from buttons that have a path to the gateway at all.
The node count doubles from ``start`` until delivery fails, then bisects; it stops at ``max_nodes``
(the model's cost grows as N^2 in a ward where everyone hears everyone: 800 nodes take minutes).
With ~15 presses per seed and run, 99 % means no SOS lost among all those counted (``sos_counted``).

Ward 19753 (Phú Xuân, 10 km², the old city) by default: compact, so airtime rather than coverage is
what runs out. (In wide rural wards coverage binds first: ``python -m simulations.mesh`` reports it.)

Baseline, computed in the same run: pure ALOHA theory for the same offered load of originated frames
in a one-hop star (every node hears the gateway, no relays, no capture), with the same number of
button sends before the deadline: P(deliver) = 1 - (1 - exp(-2G))^sends. ``ratio_vs_aloha`` is the
model's capacity over that ideal: below 1, flooding's relays cost more than capture and retries win.
When SOS never fails up to ``max_nodes`` the capacity (and the ratio) is a lower bound, said so in the
result. Sensors' readings are reported beside it (``telemetry_delivered`` per point and
``telemetry_90_nodes``): only the region's duty cycle holds a node's readings back (Meshtastic's 25 %
politeness rule is not applied to frames sent through the client API, as floodmesh's are: see
``simulations/mesh/flooding.py``), so readings and SOS share the channel.
"""

import math
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from simulations.mesh.metrics import measure
from simulations.mesh.model import FloodmeshBehaviour, MeshModel
from simulations.mesh.physics import PRESETS, time_on_air_s
from simulations.mesh.plots import plot_delivery_vs_nodes
from simulations.mesh.topology import ward_topology
from simulations.mesh.traffic import NODE_STATUS_BYTES, SOS_BYTES, WATER_LEVEL_BYTES, WardLoad, ward_traffic

WARD = "19753"
THRESHOLD = 0.99
SOS_DEADLINE_S = 300.0
SOS_PER_HOUR_FLOOR = 60.0
SENSOR_SHARE = 1 / 20
HANDHELDS = 3
PLOT = Path(__file__).parent / "mesh_capacity.png"


def _mix(nodes: int) -> tuple[int, int]:
    sensors = max(1, round(nodes * SENSOR_SHARE))
    return sensors, nodes - sensors


def _load(buttons: int) -> WardLoad:
    base = WardLoad()
    return WardLoad(sos_per_button_per_hour=max(base.sos_per_button_per_hour, SOS_PER_HOUR_FLOOR / max(buttons, 1)))


def delivery(preset: str, nodes: int, seeds: tuple[int, ...], sim_s: float) -> dict[str, float]:
    """SOS delivered in time (pooled over seeds), with the channel figures of the same runs."""
    delivered = total = 0.0
    util, collisions, covered, telemetry = [], [], [], []
    for seed in seeds:
        sensors, buttons = _mix(nodes)
        topology = ward_topology(WARD, buttons=buttons, sensors=sensors, handhelds=HANDHELDS, seed=seed)
        model = MeshModel(topology, preset, seed=seed)
        model.submit_all(ward_traffic(topology, sim_s, _load(buttons), seed))
        model.run(sim_s + SOS_DEADLINE_S)
        m = measure(model, WARD, SOS_DEADLINE_S)
        counted = sum(1 for o in model.originations.values() if o.kind == "sos" and o.first_s <= sim_s)
        n_covered = round(counted * m.covered_buttons_ratio)
        delivered += m.sos_in_deadline_ratio_covered * n_covered
        total += n_covered
        util.append(m.channel_util_gateway_mean)
        collisions.append(m.collision_rate)
        covered.append(m.covered_buttons_ratio)
        telemetry.append(m.telemetry_delivered_ratio)
    return {
        "nodes": nodes,
        "sos_delivered": round(delivered / total, 4) if total else 1.0,
        "sos_counted": total,
        "gateway_util_mean": round(sum(util) / len(util), 3),
        "collision_rate": round(sum(collisions) / len(collisions), 3),
        "covered": round(sum(covered) / len(covered), 3),
        "telemetry_delivered": round(sum(telemetry) / len(telemetry), 3),
    }


def _report(preset: str, point: dict[str, float]) -> None:
    print(f"mesh_capacity {preset}: {point['nodes']:.0f} nodes -> SOS {point['sos_delivered']:.2%} of "
          f"{point['sos_counted']:.0f}, telemetry {point['telemetry_delivered']:.0%}, "
          f"gateway channel {point['gateway_util_mean']:.0%}", file=sys.stderr, flush=True)


@dataclass(frozen=True)
class PresetCapacity:
    """One preset's answer: the largest node count at >= THRESHOLD, the first below, every point run."""

    capacity_nodes: int
    first_failing_nodes: int | None  # None: never failed up to max_nodes, so capacity is a lower bound
    points: list[dict[str, float]]

    @property
    def telemetry_90_nodes(self) -> int | None:
        """Largest node count run whose sensors still got >= 90 % of their readings to the gateway."""
        ok = [int(p["nodes"]) for p in self.points if p["telemetry_delivered"] >= 0.9]
        return max(ok) if ok else None


def capacity(preset: str, seeds: tuple[int, ...], sim_s: float, start: int, max_nodes: int) -> PresetCapacity:
    """Largest node count whose SOS delivery stays >= THRESHOLD: doubling, then bisection to ~10 %."""
    points: list[dict[str, float]] = []
    good, bad, n = 0, None, start
    while n <= max_nodes:
        point = delivery(preset, n, seeds, sim_s)
        points.append(point)
        _report(preset, point)
        if point["sos_delivered"] < THRESHOLD:
            bad = n
            break
        good, n = n, n * 2
    while bad is not None and bad - good > max(2, good // 10):
        mid = (good + bad) // 2
        point = delivery(preset, mid, seeds, sim_s)
        points.append(point)
        _report(preset, point)
        good, bad = (mid, bad) if point["sos_delivered"] >= THRESHOLD else (good, mid)
    return PresetCapacity(good, bad, sorted(points, key=lambda p: p["nodes"]))


def sends_before_deadline() -> int:
    """How many times a button sends an unanswered SOS within the deadline (firmware schedule)."""
    t, sends = 0.0, 1
    while True:
        t += FloodmeshBehaviour.sos_retry_delay_s(sends)
        if t > SOS_DEADLINE_S:
            return sends
        sends += 1


def aloha_capacity(preset: str) -> int:
    """Nodes a one-hop pure-ALOHA star carries at >= THRESHOLD delivery for the same originated load."""
    p = PRESETS[preset]
    load = WardLoad()
    sensors_per_node = SENSOR_SHARE
    per_node_s = (
        sensors_per_node * time_on_air_s(WATER_LEVEL_BYTES, p) / load.sensor_interval_s
        + (1 - sensors_per_node) * time_on_air_s(NODE_STATUS_BYTES, p) / load.button_status_interval_s
    )
    sos_s = time_on_air_s(SOS_BYTES, p) / 3600.0  # one SOS frame per hour per unit of rate
    sends = sends_before_deadline()
    g_max = -math.log(1 - (1 - THRESHOLD) ** (1 / sends)) / 2  # 1 - (1 - e^-2G)^sends = THRESHOLD
    n = 1
    while True:
        buttons = n * (1 - sensors_per_node)
        sos_rate = max(load.sos_per_button_per_hour * buttons, SOS_PER_HOUR_FLOOR)
        if n * per_node_s + sos_rate * sos_s > g_max:
            return n - 1
        n += 1


def run(
    presets: tuple[str, ...] = ("LONG_FAST", "MEDIUM_FAST"),
    seeds: tuple[int, ...] = (1, 2),
    sim_s: float = 900.0,
    start: int = 50,
    max_nodes: int = 800,
    plot_path: Path = PLOT,
) -> dict[str, object]:
    """The capacity per preset as one JSON-ready dict, and the delivery-vs-nodes plot next to it."""
    t0 = time.perf_counter()
    results: dict[str, dict[str, object]] = {}
    capacities: dict[str, int] = {}
    curves: dict[str, list[tuple[int, float]]] = {}
    telemetry: dict[str, list[tuple[int, float]]] = {}
    for preset in presets:
        found = capacity(preset, seeds, sim_s, start, max_nodes)
        aloha = aloha_capacity(preset)
        results[preset] = {**asdict(found), "capacity_is_lower_bound": found.first_failing_nodes is None,
                           "telemetry_90_nodes": found.telemetry_90_nodes, "aloha_capacity_nodes": aloha,
                           "ratio_vs_aloha": round(found.capacity_nodes / aloha, 3)}
        capacities[preset] = found.capacity_nodes
        curves[preset] = [(int(p["nodes"]), p["sos_delivered"]) for p in found.points]
        telemetry[preset] = [(int(p["nodes"]), p["telemetry_delivered"]) for p in found.points]
    title = f"ward {WARD}: SOS delivered within {SOS_DEADLINE_S:g} s, and sensor readings"
    plot_delivery_vs_nodes(curves, THRESHOLD, title, plot_path, telemetry)
    return {
        "name": "mesh_capacity",
        "ward": WARD,
        "threshold": THRESHOLD,
        "sos_deadline_s": SOS_DEADLINE_S,
        "sim_s": sim_s,
        "seeds": list(seeds),
        "mix": {"sensor_share": SENSOR_SHARE, "sensor_interval_s": WardLoad().sensor_interval_s,
                "sos_per_button_per_hour": WardLoad().sos_per_button_per_hour,
                "sos_per_hour_floor": SOS_PER_HOUR_FLOOR},
        "capacity_nodes": capacities,
        "ratio": results[presets[0]]["ratio_vs_aloha"],
        "presets": results,
        "plot": str(plot_path),
        "elapsed_s": round(time.perf_counter() - t0, 1),
    }
