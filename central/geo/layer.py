"""Reading a ward layer (GeoJSON): which features are usable, which were repaired, which refused and why."""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import shapely
from shapely.errors import GEOSException
from shapely.geometry import shape

POLYGONAL = ("Polygon", "MultiPolygon")
_MIN_AREA = 1e-12  # square degrees, ~0.01 m²: less is a sliver or collinear ring, not a ward


@dataclass(frozen=True)
class WardFeature:
    """One usable ward: code, name, type and a valid (Multi)Polygon in lon/lat."""

    code: str
    name: str
    type: str
    geometry: Any


@dataclass(frozen=True)
class Problem:
    """A feature refused or repaired: its position in the file, its code if it had one, and why."""

    index: int
    code: str
    reason: str


@dataclass(frozen=True)
class LayerReport:
    """The outcome of reading a layer."""

    wards: tuple[WardFeature, ...]
    refused: tuple[Problem, ...]
    repaired: tuple[Problem, ...]


def read_layer(doc: Any) -> LayerReport:
    """Validate a GeoJSON FeatureCollection of wards; invalid polygons are repaired with make_valid."""
    if not isinstance(doc, Mapping) or doc.get("type") != "FeatureCollection":
        raise ValueError("not a GeoJSON FeatureCollection")
    features = doc.get("features")
    if not isinstance(features, list):
        raise ValueError("FeatureCollection has no 'features' list")
    wards: list[WardFeature] = []
    refused: list[Problem] = []
    repaired: list[Problem] = []
    first_at: dict[str, int] = {}
    for index, feature in enumerate(features):
        code = _code(feature)
        try:
            ward, repair = _read_feature(feature)
        except ValueError as exc:
            refused.append(Problem(index, code, str(exc)))
            continue
        if ward.code in first_at:
            refused.append(Problem(index, code, f"duplicate code (first at feature {first_at[ward.code]})"))
            continue
        first_at[ward.code] = index
        wards.append(ward)
        if repair:
            repaired.append(Problem(index, code, repair))
    return LayerReport(tuple(wards), tuple(refused), tuple(repaired))


def _code(feature: Any) -> str:
    props = feature.get("properties") if isinstance(feature, Mapping) else None
    code = props.get("code") if isinstance(props, Mapping) else None
    return "" if code is None else str(code).strip()


def _read_feature(feature: Any) -> tuple[WardFeature, str]:
    if not isinstance(feature, Mapping) or feature.get("type") != "Feature":
        raise ValueError("not a GeoJSON Feature")
    props = feature.get("properties")
    if not isinstance(props, Mapping):
        raise ValueError("no properties")
    code, name = _code(feature), props.get("name")
    if not code:
        raise ValueError("property 'code' missing or empty")
    if not isinstance(name, str) or not name.strip():
        raise ValueError("property 'name' missing or empty")
    geom, repair = _read_geometry(feature.get("geometry"))
    return WardFeature(code, name.strip(), str(props.get("type") or ""), geom), repair


def _read_geometry(raw: Any) -> tuple[Any, str]:
    if not isinstance(raw, Mapping):
        raise ValueError("no geometry")
    kind = raw.get("type")
    if kind not in POLYGONAL:
        raise ValueError(f"geometry type {kind} (need Polygon or MultiPolygon)")
    try:
        geom = shape(raw)
        coords = shapely.get_coordinates(geom)
    except (ValueError, TypeError, IndexError, AttributeError, GEOSException) as exc:
        raise ValueError(f"malformed coordinates: {exc}") from None
    if geom.is_empty:
        raise ValueError("empty geometry")
    if not np.isfinite(coords).all():
        raise ValueError("non-finite coordinates")
    if (np.abs(coords[:, 0]) > 180).any() or (np.abs(coords[:, 1]) > 90).any():
        raise ValueError("coordinates outside lon/lat range (the layer must be EPSG:4326)")
    if geom.is_valid:
        if geom.area < _MIN_AREA:
            raise ValueError("zero area")
        return geom, ""
    why = shapely.is_valid_reason(geom)
    fixed = _polygonal_part(shapely.make_valid(geom))
    if fixed is None:
        raise ValueError(f"invalid ({why}) and nothing polygonal left after repair")
    return fixed, f"repaired with make_valid: {why}"


def _polygonal_part(geom: Any) -> Any:
    """The (Multi)Polygon area of a make_valid result; stray lines and points are dropped."""
    parts = [p for p in shapely.get_parts(geom) if p.geom_type in POLYGONAL and not p.is_empty]
    if not parts:
        return None
    merged = shapely.union_all(parts)
    return merged if merged.geom_type in POLYGONAL and merged.area >= _MIN_AREA else None
