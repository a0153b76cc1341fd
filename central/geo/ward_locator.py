"""Which ward a point lies in: ward polygons in a shapely STRtree, with a defined answer at the edges.

Polygons are projected once onto a local equirectangular plane in metres (centred on the layer's mid
latitude), so the tolerance is a true distance: across Huế's 0.75° of latitude the scale error is <0.5 %
(a national layer, 8.5-23.4°N, stays within ~5 %). The projection only scales the axes, so which polygon
contains a point is the same as in lon/lat. Bulk lookups go through a CellGrid first; only points in
cells crossed by a boundary are tested against the polygons.
"""

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import shapely
from shapely.geometry import mapping

from central.geo.authorities import Authority
from central.geo.cell_grid import BOUNDARY, OUTSIDE, CellGrid, lowest_hits
from central.geo.layer import read_layer

IOC_CODE = "IOC"
IOC_NAME = "Hue IOC"
_M_PER_DEG_LAT = 110_574.0
_M_PER_DEG_LON_EQUATOR = 111_320.0

How = Literal["inside", "nearest", "ioc"]
HOWS: tuple[How, ...] = ("inside", "nearest", "ioc")
"""``locate_indices`` reports how as an index into this tuple."""


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
        projected = np.array([self._to_metres(g) for g in geoms], dtype=object)
        self._tree = shapely.STRtree(projected)
        self._grid = CellGrid(projected, self._tree)
        self._matches = {
            how: [WardMatch(w.code, w.name, how) for w in self._wards] for how in ("inside", "nearest")
        }

    @classmethod
    def from_geojson(
        cls, path: Path, authorities: Mapping[str, Authority], tolerance_m: float = 500.0
    ) -> "WardLocator":
        """Load ward polygons (Polygon or MultiPolygon features with code/name/type properties).

        Invalid polygons are repaired; any refused feature is an error (clean a layer with
        ``floodmesh wards import`` first).
        """
        report = read_layer(json.loads(path.read_text(encoding="utf-8")))
        if report.refused:
            reasons = "; ".join(f"feature {p.index} ({p.code or 'no code'}): {p.reason}" for p in report.refused)
            raise ValueError(f"{path}: {len(report.refused)} feature(s) refused: {reasons}")
        if not report.wards:
            raise ValueError(f"{path}: no wards")
        wards = [Ward(f.code, f.name, f.type, authorities.get(f.code)) for f in report.wards]
        geoms = [f.geometry for f in report.wards]
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
        """Bulk locate: the same answers as ``locate`` for each point, computed as arrays."""
        indices, hows = self.locate_indices(lons, lats)
        ioc = WardMatch(IOC_CODE, IOC_NAME, "ioc")
        matches = self._matches
        return [
            ioc if how == 2 else matches[HOWS[how]][ward]
            for ward, how in zip(indices.tolist(), hows.tolist(), strict=True)
        ]

    def locate_indices(
        self, lons: Sequence[float] | npt.ArrayLike, lats: Sequence[float] | npt.ArrayLike
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int8]]:
        """Per point: the index into ``wards`` (-1 for the IOC) and how, as an index into ``HOWS``."""
        xs = np.asarray(lons, dtype=float).ravel() * self._m_per_deg_lon
        ys = np.asarray(lats, dtype=float).ravel() * _M_PER_DEG_LAT
        if xs.shape != ys.shape:
            raise ValueError("lons and lats differ in length")
        found = self._grid.lookup(xs, ys)
        exact = np.flatnonzero(found == BOUNDARY)
        if len(exact):
            # Simplified polygons overlap a little; the lowest index wins so the answer is stable.
            pairs = self._tree.query(shapely.points(xs[exact], ys[exact]), predicate="within")
            found[exact] = lowest_hits(len(exact), pairs)
        hows = np.where(found == OUTSIDE, 2, 0).astype(np.int8)
        rest = np.flatnonzero((found == OUTSIDE) & np.isfinite(xs) & np.isfinite(ys))  # NaN: IOC
        if len(rest):
            near = self._tree.query_nearest(
                shapely.points(xs[rest], ys[rest]), max_distance=self._tolerance_m, all_matches=False
            )
            found[rest[near[0]]] = near[1]
            hows[rest[near[0]]] = 1
        return found, hows
