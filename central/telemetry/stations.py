"""River gauging stations: alert levels and the sensor datum that turns a distance into a level."""

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

AlertName = Literal["none", "BD1", "BD2", "BD3"]
ALERT_NAMES: tuple[AlertName, ...] = ("BD1", "BD2", "BD3")
RANKS: tuple[AlertName, ...] = ("none", "BD1", "BD2", "BD3")
"""Alert names by rank: RANKS[0] is "none", RANKS[3] is "BD3"."""


@dataclass(frozen=True)
class Station:
    """One gauge; ``datum_m`` is the sensor's height above the gauge zero."""

    id: str
    name: str
    river: str
    lat: float
    lon: float
    ward: str
    alert_levels_m: Mapping[str, float]
    datum_m: float
    affected_wards: tuple[str, ...] = field(default=())
    sensor_kind: str = "ultrasonic"
    record_m: float | None = None

    def level_m(self, distance_mm: int) -> float:
        """Water level above gauge zero for a sensor-to-water distance."""
        return round(self.datum_m - distance_mm / 1000.0, 3)

    def threshold(self, rank: int) -> float:
        """The level (m) of alert rank 1..3 (BD1..BD3)."""
        return self.alert_levels_m[RANKS[rank]]

    def alert(self, level_m: float | None) -> AlertName:
        """The highest alert level reached: "none", "BD1", "BD2" or "BD3"."""
        reached: AlertName = "none"
        if level_m is None or math.isnan(level_m):
            return reached
        for name in ALERT_NAMES:
            if level_m >= self.alert_levels_m[name]:
                reached = name
        return reached

    @property
    def wards_to_warn(self) -> tuple[str, ...]:
        """The wards an alert at this station goes to (its own ward if none are listed)."""
        return self.affected_wards or (self.ward,)


def load_stations(path: Path) -> dict[str, Station]:
    """Stations by id from a stations.json file."""
    doc = json.loads(path.read_text(encoding="utf-8"))
    stations: dict[str, Station] = {}
    for raw in doc["stations"]:
        levels: dict[str, float] = {name: float(raw["alert_levels_m"][name]) for name in ALERT_NAMES}
        if not levels["BD1"] < levels["BD2"] < levels["BD3"]:
            raise ValueError(f"station {raw['id']}: alert levels must rise BD1 < BD2 < BD3")
        record = raw.get("record_m")
        stations[raw["id"]] = Station(
            id=str(raw["id"]),
            name=str(raw["name"]),
            river=str(raw["river"]),
            lat=float(raw["lat"]),
            lon=float(raw["lon"]),
            ward=str(raw["ward"]),
            alert_levels_m=levels,
            datum_m=float(raw["datum_m"]),
            affected_wards=tuple(str(w) for w in raw.get("affected_wards", ())),
            sensor_kind=str(raw.get("sensor_kind", "ultrasonic")),
            record_m=None if record is None else float(record),
        )
    return stations
