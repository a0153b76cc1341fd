"""WardLocator: inside, nearest (border, sea) and IOC answers over the shipped 40 wards and small layers with
holes, exclaves (MultiPolygons) and overlaps."""

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import shapely
from shapely.geometry import mapping

from central.core.config import DATA_DIR
from central.geo.ward_locator import WardLocator, WardMatch


@pytest.mark.unit
def test_point_inside_kim_long(locator: WardLocator) -> None:
    match = locator.locate(107.54855, 16.40221)
    assert (match.code, match.name, match.how) == ("19774", "Phường Kim Long", "inside")


@pytest.mark.unit
def test_published_station_points_fall_in_their_wards(locator: WardLocator) -> None:
    assert locator.locate(107.5667, 16.41667).code == "19813"  # Kim Long gauge -> Thủy Xuân
    assert locator.locate(107.467, 16.533).code == "19996"  # Phú Ốc gauge -> Hương Trà


@pytest.mark.unit
def test_sea_just_off_the_coast_goes_to_nearest_ward(locator: WardLocator) -> None:
    # Off Thuận An: 0.002° east of the coast on lat 16.56 is ~95 m from the (slanting) shore.
    match = locator.locate(107.6553, 16.56)
    assert (match.code, match.how) == ("19900", "nearest")


@pytest.mark.unit
def test_beyond_tolerance_goes_to_ioc(locator: WardLocator) -> None:
    assert locator.locate(107.68, 16.56).how == "ioc"  # ~1.4 km out at sea
    far = locator.locate(151.2093, -33.8688)
    assert (far.code, far.how) == ("IOC", "ioc")


@pytest.mark.unit
def test_point_on_a_border_gets_a_defined_ward(locator: WardLocator) -> None:
    doc = json.loads((DATA_DIR / "hue_wards.geojson").read_text(encoding="utf-8"))
    kim_long = next(f for f in doc["features"] if f["properties"]["code"] == "19774")
    lon, lat = kim_long["geometry"]["coordinates"][0][0]  # a vertex: on the boundary, not within
    match = locator.locate(lon, lat)
    assert match.how == "nearest"
    assert match.code != "IOC"


@pytest.mark.unit
def test_multipolygon_parts_are_both_found(locator: WardLocator) -> None:
    doc = json.loads((DATA_DIR / "hue_wards.geojson").read_text(encoding="utf-8"))
    phong_phu = next(f for f in doc["features"] if f["properties"]["code"] == "19828")
    assert phong_phu["geometry"]["type"] == "MultiPolygon"
    assert locator.locate(107.408, 16.694).code == "19828"  # main part
    small = locator.locate(107.389, 16.743)  # the small repaired part
    assert small.code == "19828"


@pytest.mark.unit
def test_locate_many_agrees_with_locate(locator: WardLocator) -> None:
    lons = [107.54855, 107.6553, 151.2, 107.57722, 107.467]
    lats = [16.40221, 16.56, -33.8, 16.47867, 16.533]
    assert locator.locate_many(lons, lats) == [locator.locate(x, y) for x, y in zip(lons, lats, strict=True)]


@pytest.mark.unit
def test_tolerance_is_configurable() -> None:
    from central.geo.authorities import load_authorities

    strict = WardLocator.from_geojson(
        DATA_DIR / "hue_wards.geojson", load_authorities(DATA_DIR / "authorities.csv"), tolerance_m=50.0
    )
    assert strict.locate(107.6553, 16.56).how == "ioc"


@pytest.mark.unit
def test_ward_lookup_by_code_has_authority(locator: WardLocator) -> None:
    ward = locator.ward("19774")
    assert ward is not None
    assert ward.authority is not None
    assert ward.authority.authority == "UBND Phường Kim Long"
    assert locator.authority_name("nope") == "Hue IOC"
    assert len(locator.wards) == 40
    assert len(locator.feature_collection()["features"]) == 40


def _layer(tmp_path: Path) -> Path:
    """A with a hole; B a MultiPolygon whose island sits inside A's hole (the rest of the hole is a lake)."""
    a = shapely.Polygon(_box(107.0, 16.0, 107.1, 16.1).exterior, [_box(107.03, 16.03, 107.07, 16.07).exterior])
    b = shapely.MultiPolygon([_box(107.1, 16.0, 107.2, 16.1), _box(107.04, 16.04, 107.06, 16.06)])
    overlap = _box(107.19, 16.0, 107.3, 16.1)  # C overlaps B by 0.01°: B (lower index) wins there
    features = [
        {"type": "Feature", "properties": {"code": code, "name": code}, "geometry": mapping(g)}
        for code, g in (("A", a), ("B", b), ("C", overlap))
    ]
    path = tmp_path / "wards.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}), encoding="utf-8")
    return path


def _box(x0: float, y0: float, x1: float, y1: float) -> Any:
    return shapely.box(x0, y0, x1, y1)


@pytest.mark.unit
def test_hole_exclave_and_lake(tmp_path: Path) -> None:
    loc = WardLocator.from_geojson(_layer(tmp_path), {}, tolerance_m=50.0)
    assert loc.locate(107.01, 16.05) == WardMatch("A", "A", "inside")
    assert loc.locate(107.15, 16.05) == WardMatch("B", "B", "inside")  # B's main part
    assert loc.locate(107.05, 16.05) == WardMatch("B", "B", "inside")  # B's island in A's hole
    lake = loc.locate(107.032, 16.05)  # in A's hole, not on B's island: never "inside A"
    assert lake.how == "ioc"
    wide = WardLocator.from_geojson(_layer(tmp_path), {}, tolerance_m=500.0)
    assert wide.locate(107.032, 16.05) == WardMatch("A", "A", "nearest")  # ~210 m from the hole's edge
    assert wide.locate(107.195, 16.05) == WardMatch("B", "B", "inside")


@pytest.mark.unit
def test_bulk_answers_match_brute_force(tmp_path: Path) -> None:
    loc = WardLocator.from_geojson(_layer(tmp_path), {}, tolerance_m=300.0)
    geoms = [shapely.geometry.shape(f["geometry"]) for f in loc.feature_collection()["features"]]
    rng = np.random.default_rng(3)
    lons, lats = rng.uniform(106.98, 107.32, 20_000), rng.uniform(15.98, 16.12, 20_000)
    lons[:3], lats[:3] = [107.0, 107.03, 107.1], [16.05, 16.05, 16.05]  # on edges: never "inside"
    indices, hows = loc.locate_indices(lons, lats)
    for k in range(len(lons)):
        point = shapely.Point(lons[k], lats[k])
        inside = next((i for i, g in enumerate(geoms) if g.contains(point)), -1)
        assert (indices[k] if hows[k] == 0 else -1) == inside, (lons[k], lats[k])
        if hows[k] == 1 and k >= 3:  # off every ward (the first three lie on a border)
            assert min(g.distance(point) for g in geoms) > 0
    assert loc.locate_many(lons[:500].tolist(), lats[:500].tolist()) == [
        loc.locate(x, y) for x, y in zip(lons[:500].tolist(), lats[:500].tolist(), strict=True)
    ]
    assert {int(h) for h in hows} == {0, 1, 2}


@pytest.mark.unit
def test_nan_goes_to_ioc_and_lengths_must_match(locator: WardLocator) -> None:
    assert locator.locate(float("nan"), 16.4).how == "ioc"
    with pytest.raises(ValueError, match="length"):
        locator.locate_indices([107.5, 107.6], [16.4])


@pytest.mark.unit
def test_refused_feature_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "bad.geojson"
    point = {"type": "Feature", "properties": {"code": "P", "name": "P"},
             "geometry": {"type": "Point", "coordinates": [107.0, 16.0]}}
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [point]}), encoding="utf-8")
    with pytest.raises(ValueError, match="geometry type Point"):
        WardLocator.from_geojson(path, {})
