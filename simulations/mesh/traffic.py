"""What a ward's radios send in a flood hour: sensors' readings, residents' SOS, buttons' status, officials.

Sizes are the ``Data`` protobuf bytes of floodmesh's real frames (``protocol/frames.py`` on
``firmware.mesh_link.PORT``; checked against the codec by the tests); Meshtastic's 16-byte header
is added by the airtime formula.
"""

import random
from dataclasses import dataclass

from simulations.mesh.model import Transmission
from simulations.mesh.topology import Topology

WATER_LEVEL_BYTES = 31
SOS_BYTES = 30
SOS_WITH_GPS_BYTES = 38
NODE_STATUS_BYTES = 34
OFFICIAL_COMMAND_BYTES = 40  # a short PKI direct message such as "42 ACK"


@dataclass(frozen=True)
class WardLoad:
    """How often each kind of node speaks (a flood hour: sensors on their short interval)."""

    sensor_interval_s: float = 60.0  # central's adaptive reporting during a flood (300 s in calm water)
    sos_per_button_per_hour: float = 0.05  # one home in twenty presses in the worst hour
    button_status_interval_s: float = 86_400.0  # the idle button's daily "alive"
    official_commands_per_hour: float = 4.0


def _poisson_times(rng: random.Random, rate_per_s: float, start_s: float, end_s: float) -> list[float]:
    times: list[float] = []
    t = start_s
    while rate_per_s > 0:
        t += rng.expovariate(rate_per_s)
        if t >= end_s:
            return times
        times.append(t)
    return times


def ward_traffic(topology: Topology, duration_s: float, load: WardLoad, seed: int) -> list[Transmission]:
    """Every transmission the ward's nodes originate in ``duration_s``, sorted by time (seeded)."""
    rng = random.Random(f"mesh-traffic:{topology.ward}:{seed}")
    gateway = topology.ids("gateway")[0]
    txs: list[Transmission] = []
    for node in topology.ids("sensor"):
        t = rng.uniform(0, load.sensor_interval_s)
        seq = 0
        while t < duration_s:
            txs.append(Transmission(t, node, "telemetry", WATER_LEVEL_BYTES, f"wl:{node}:{seq}"))
            seq += 1
            t += load.sensor_interval_s
    for node in topology.ids("button"):
        for seq, t in enumerate(_poisson_times(rng, load.sos_per_button_per_hour / 3600, 0, duration_s)):
            txs.append(Transmission(t, node, "sos", SOS_BYTES, f"sos:{node}:{seq}"))
        t = rng.uniform(0, load.button_status_interval_s)
        if t < duration_s:
            txs.append(Transmission(t, node, "status", NODE_STATUS_BYTES, f"st:{node}:0"))
    for node in topology.ids("handheld"):
        for seq, t in enumerate(_poisson_times(rng, load.official_commands_per_hour / 3600, 0, duration_s)):
            txs.append(Transmission(t, node, "text", OFFICIAL_COMMAND_BYTES, f"cmd:{node}:{seq}", dest=gateway))
    return sorted(txs, key=lambda tx: tx.at_s)
