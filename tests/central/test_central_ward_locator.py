"""WardLocator: inside, nearest (border, sea) and IOC answers over the shipped 40 wards."""

import json

import pytest

from central.core.config import DATA_DIR
from central.geo.ward_locator import WardLocator


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
