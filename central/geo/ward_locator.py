"""Which ward a point lies in: ward polygons in a shapely STRtree, with a defined answer at the edges.

Polygons are projected once onto a local equirectangular plane in metres (centred on Huế's latitude),
so the tolerance is a true distance: across the province's 0.75° of latitude the scale error is <0.5 %.
"""

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import shapely
from shapely.geometry import mapping, shape

from central.geo.authorities import Authority

IOC_CODE = "IOC"
IOC_NAME = "Hue IOC"
_M_PER_DEG_LAT = 110_574.0
_M_PER_DEG_LON_EQUATOR = 111_320.0

How = Literal["inside", "nearest", "ioc"]


@dataclass(frozen=True)
class WardMatch:
    """The answer of a lookup: ward code and name, and how it was found."""

    code: str
    name: str
    how: How


@dataclass(frozen=True)
class Ward:
    """One ward as loaded from the GeoJSON, with its authority if one is on file."""

    code: str
    name: str
    type: str
    authority: Authority | None


class WardLocator:
    """Point -> ward; a point on a border or just outside every ward goes to the nearest within tolerance."""

    def __init__(self, wards: Sequence[Ward], geoms: Sequence[Any], tolerance_m: float, ref_lat: float) -> None:
        self._wards = list(wards)
        self._geoms = list(geoms)
        self._by_code = {w.code: w for w in self._wards}
        self._tolerance_m = tolerance_m
        self._m_per_deg_lon = _M_PER_DEG_LON_EQUATOR * math.cos(math.radians(ref_lat))
        self._tree = shapely.STRtree([self._to_metres(g) for g in geoms])

    @classmethod
    def from_geojson(
        cls, path: Path, authorities: Mapping[str, Authority], tolerance_m: float = 500.0
    ) -> "WardLocator":
        """Load ward polygons (Polygon or MultiPolygon features with code/name/type properties)."""
        doc = json.loads(path.read_text(encoding="utf-8"))
        wards: list[Ward] = []
        geoms: list[Any] = []
        for feature in doc["features"]:
            props = feature["properties"]
            code = str(props["code"])
            wards.append(Ward(code, str(props["name"]), str(props.get("type", "")), authorities.get(code)))
            geoms.append(shape(feature["geometry"]))
        bounds = shapely.total_bounds(geoms)
        return cls(wards, geoms, tolerance_m, ref_lat=(bounds[1] + bounds[3]) / 2.0)

    def _to_metres(self, geom: Any) -> Any:
        return shapely.transform(geom, self._project)

    def _project(self, coords: Any) -> Any:
        return np.column_stack((coords[:, 0] * self._m_per_deg_lon, coords[:, 1] * _M_PER_DEG_LAT))

    @property
    def wards(self) -> list[Ward]:
        """All wards in file order."""
        return list(self._wards)

    def feature_collection(self) -> dict[str, Any]:
        """The wards as GeoJSON (lon/lat) with code, name, type and authority: what the map draws."""
        features = []
        for w, g in zip(self._wards, self._geoms, strict=True):
            props = {"code": w.code, "name": w.name, "type": w.type, "authority": self.authority_name(w.code)}
            features.append({"type": "Feature", "properties": props, "geometry": mapping(g)})
        return {"type": "FeatureCollection", "features": features}

    def ward(self, code: str) -> Ward | None:
        """The ward with this code, or None."""
        return self._by_code.get(code)

    def authority_name(self, code: str) -> str:
        """Who answers for a ward code: its authority, else the IOC."""
        ward = self._by_code.get(code)
        if ward is None or ward.authority is None:
            return IOC_NAME
        return ward.authority.authority

    def match_code(self, code: str) -> WardMatch:
        """A WardMatch for a ward code given by a gateway; unknown codes go to the IOC."""
        ward = self._by_code.get(code)
        if ward is None:
            return WardMatch(IOC_CODE, IOC_NAME, "ioc")
        return WardMatch(ward.code, ward.name, "inside")

    def locate(self, lon: float, lat: float) -> WardMatch:
        """The ward containing (lon, lat), else the nearest within tolerance, else the IOC."""
        return self.locate_many([lon], [lat])[0]

    def locate_many(self, lons: Sequence[float], lats: Sequence[float]) -> list[WardMatch]:
        """Bulk locate: one STRtree query for all points, a nearest query for the rest."""
        xs = np.asarray(lons, dtype=float) * self._m_per_deg_lon
        ys = np.asarray(lats, dtype=float) * _M_PER_DEG_LAT
        points = shapely.points(xs, ys)
        found: dict[int, tuple[int, How]] = {}
        inside = self._tree.query(points, predicate="within")
        for point_idx, ward_idx in zip(inside[0].tolist(), inside[1].tolist(), strict=True):
            # Simplified polygons overlap a little; the lowest index wins so the answer is stable.
            if point_idx not in found or ward_idx < found[point_idx][0]:
                found[point_idx] = (ward_idx, "inside")
        rest = [i for i in range(len(points)) if i not in found]
        if rest:
            near = self._tree.query_nearest(points[rest], max_distance=self._tolerance_m, all_matches=False)
            for rest_idx, ward_idx in zip(near[0].tolist(), near[1].tolist(), strict=True):
                found[rest[rest_idx]] = (ward_idx, "nearest")
        return [self._match(found.get(i)) for i in range(len(points))]

    def _match(self, hit: tuple[int, How] | None) -> WardMatch:
        if hit is None:
            return WardMatch(IOC_CODE, IOC_NAME, "ioc")
        ward = self._wards[hit[0]]
        return WardMatch(ward.code, ward.name, hit[1])
