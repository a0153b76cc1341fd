"""TelemetryStore: where water levels go as a time series; backends ``sqlite`` and ``influx``.

The ingest writes every reading to central's own read model first (the ``readings`` table, in the
batch transaction: latest level, chart windows and downsampled history are served from there). A
TelemetryStore receives the same readings after the commit, as points keyed by the sensor's time,
so a replayed reading overwrites its point instead of adding a second one.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class LevelPoint:
    """One reading as a time-series point (``t`` is the sensor's time, unix seconds)."""

    station_id: str
    river: str
    ward: str
    node_id: int
    t: int
    level_m: float | None
    distance_mm: int
    battery_pct: int
    qc_flag: int
    alert_rank: int


class TelemetryStore(Protocol):
    """A time-series sink for water levels."""

    name: str

    def write(self, points: Sequence[LevelPoint]) -> None:
        """Store a batch of points; the same (station, node, t) again replaces the point."""

    def close(self) -> None:
        """Flush and release the backend."""
