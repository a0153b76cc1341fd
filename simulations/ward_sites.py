"""Ward polygons and station sites for simulations, read from the data central ships."""

import json
import random
from dataclasses import dataclass
from importlib import resources
from typing import Any

from shapely.geometry import Point, shape
from shapely.geometry.base import BaseGeometry


def _central_data(name: str) -> Any:
    return json.loads((resources.files("central") / "data" / name).read_text(encoding="utf-8"))


@dataclass(frozen=True)
class Station:
    """A river gauge the demo puts virtual sensors on."""

    station_id: str
    name: str
    ward: str
    lat: float
    lon: float
    datum_m: float
    alert_levels_m: dict[str, float]


def load_stations() -> list[Station]:
    """The stations central knows (``central/data/stations.json``)."""
    return [
        Station(s["id"], s["name"], s["ward"], s["lat"], s["lon"], s["datum_m"], s["alert_levels_m"])
        for s in _central_data("stations.json")["stations"]
    ]


class WardShapes:
    """Ward polygons by code, to place simulated residents inside their ward."""

    def __init__(self) -> None:
        doc = _central_data("hue_wards.geojson")
        self._shapes: dict[str, BaseGeometry] = {}
        self.names: dict[str, str] = {}
        for feature in doc["features"]:
            code = str(feature["properties"]["code"])
            self._shapes[code] = shape(feature["geometry"])
            self.names[code] = str(feature["properties"]["name"])

    def geometry(self, ward: str) -> BaseGeometry:
        """The polygon of ``ward`` (lon/lat, EPSG:4326)."""
        return self._shapes[ward]

    def random_point(self, ward: str, rng: random.Random) -> tuple[float, float]:
        """A uniformly random (lat, lon) inside ``ward``."""
        geom = self._shapes[ward]
        min_x, min_y, max_x, max_y = geom.bounds
        for _ in range(10_000):
            lon, lat = rng.uniform(min_x, max_x), rng.uniform(min_y, max_y)
            if geom.contains(Point(lon, lat)):
                return (lat, lon)
        rep = geom.representative_point()
        return (rep.y, rep.x)
