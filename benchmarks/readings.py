"""Water-level readings for the benchmarks that pass central's quality control, so the flood rules run on each.

Readings dated years ago fail central's timestamp test and never reach the rules, which made the
throughput figures skip the work a real flood brings. These are dated in the last days (ending now),
spread over central's real stations (``central/data/stations.json``), and move like a calm river: each
sensor wobbles 2 mm per reading around half its station's BĐ1 level, which no QARTOD test flags
(no spike, no rate of change near 1.5 m/h, never the same value twice in a row). The readings of one
station arrive in time order, as a station's sensors report in turn.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from central.core.config import DATA_DIR
from central.telemetry.stations import Station, load_stations
from edge_nodes.fleet import StationSite
from protocol import frames
from protocol.registry import NodeRecord, NodeRegistry

WOBBLE_STEP_MM = 2  # per reading: well clear of the flat-line tolerance (0.5 mm), far below a spike
WOBBLE_READINGS = 50  # readings per half wave (a 10 cm swing)
MIN_INTERVAL_S = 60  # between two readings of one sensor


@dataclass(frozen=True)
class BenchReading:
    """One signed frame of a sensor, and the sensor's time of the reading."""

    node_id: int
    frame: bytes
    at: datetime


def central_stations() -> dict[str, Station]:
    """The stations central knows (only their readings can run the flood rules)."""
    return load_stations(DATA_DIR / "stations.json")


def station_sites(ward: str) -> list[StationSite]:
    """One site per central station, every sensor heard by ``ward``'s gateway (the benchmark has one)."""
    return [StationSite(st.id, ward, st.lat, st.lon) for st in central_stations().values()]


def qc_passing_readings(
    registry: NodeRegistry, n: int, now: datetime | None = None, stations: Mapping[str, Station] | None = None
) -> list[BenchReading]:
    """``n`` readings from the registry's water-level sensors, round by round, the last round ending at ``now``.

    ``stations`` are the ones central was started with (by default its own ``stations.json``)."""
    stations = stations or central_stations()
    sensors = sorted((r for r in registry if r.kind == "water_level"), key=lambda r: r.node_id)
    turn = _turns(sensors)
    per_station = max(turn.values()) + 1
    # Each sensor of a station reports at its own second of the round, so a station's readings stay in order.
    interval_s = max(MIN_INTERVAL_S, per_station)
    rounds = -(-n // len(sensors))
    if rounds >= 0x10000:
        raise ValueError(f"{n} readings need {rounds} sequence numbers per sensor; add sensors to the fleet")
    start = (now or datetime.now(UTC)) - timedelta(seconds=interval_s * rounds)
    out = []
    for i in range(n):
        rec, r = sensors[i % len(sensors)], i // len(sensors)
        station = stations[rec.station_id or ""]
        at = start + timedelta(seconds=interval_s * r + turn[rec.node_id])
        level_mm = round(station.threshold(1) * 500) + _wobble_mm(r + 7 * turn[rec.node_id])
        distance_mm = round(station.datum_m * 1000) - level_mm
        frame = frames.Frame(rec.node_id, 1, r + 1, int(at.timestamp()), frames.WaterLevel(distance_mm, 90))
        out.append(BenchReading(rec.node_id, frames.encode(frame, rec.key), at))
    return out


def _turns(sensors: list[NodeRecord]) -> Mapping[int, int]:
    """Each sensor's place among its station's sensors."""
    seen: dict[str | None, int] = {}
    turn = {}
    for rec in sensors:
        turn[rec.node_id] = seen.get(rec.station_id, 0)
        seen[rec.station_id] = turn[rec.node_id] + 1
    return turn


def _wobble_mm(step: int) -> int:
    """A triangle wave: up and down by ``WOBBLE_STEP_MM`` per reading, never twice the same value in a row."""
    phase = step % (2 * WOBBLE_READINGS)
    return WOBBLE_STEP_MM * abs(phase - WOBBLE_READINGS)
