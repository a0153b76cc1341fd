"""Reading a ward layer: refusals with reasons, repairs with make_valid, holes and MultiPolygons kept."""

from typing import Any

import pytest

from central.geo.layer import read_layer


def _feature(code: object, name: object, geometry: dict[str, Any] | None) -> dict[str, Any]:
    return {"type": "Feature", "properties": {"code": code, "name": name}, "geometry": geometry}


def _poly(*rings: list[list[float]]) -> dict[str, Any]:
    return {"type": "Polygon", "coordinates": list(rings)}


SQUARE = [[107.0, 16.0], [107.1, 16.0], [107.1, 16.1], [107.0, 16.1], [107.0, 16.0]]
HOLE = [[107.03, 16.03], [107.07, 16.03], [107.07, 16.07], [107.03, 16.07], [107.03, 16.03]]
BOWTIE = [[107.0, 16.0], [107.1, 16.1], [107.1, 16.0], [107.0, 16.1], [107.0, 16.0]]


@pytest.mark.unit
def test_good_features_are_kept_with_holes_and_parts() -> None:
    multi = {"type": "MultiPolygon", "coordinates": [[SQUARE], [[[p[0] + 1, p[1]] for p in SQUARE]]]}
    report = read_layer({"type": "FeatureCollection",
                         "features": [_feature(1, " A ", _poly(SQUARE, HOLE)), _feature("2", "B", multi)]})
    assert not report.refused
    assert not report.repaired
    assert [(w.code, w.name) for w in report.wards] == [("1", "A"), ("2", "B")]
    assert len(report.wards[0].geometry.interiors) == 1
    assert report.wards[1].geometry.geom_type == "MultiPolygon"


@pytest.mark.unit
def test_each_refusal_says_why() -> None:
    features: list[Any] = [
        _feature("p", "Point", {"type": "Point", "coordinates": [107.0, 16.0]}),
        _feature("", "No code", _poly(SQUARE)),
        _feature("n", "", _poly(SQUARE)),
        _feature("g", "No geometry", None),
        _feature("u", "UTM", _poly([[500000.0, 1800000.0], [501000.0, 1800000.0], [501000.0, 1801000.0],
                                    [500000.0, 1800000.0]])),
        _feature("m", "Malformed", {"type": "Polygon", "coordinates": [[[107.0]]]}),
        _feature("ok", "Good", _poly(SQUARE)),
        _feature("ok", "Again", _poly(SQUARE)),
        _feature("line", "Flat", _poly([[107.0, 16.0], [107.1, 16.1], [107.2, 16.2], [107.0, 16.0]])),
        "not a feature",
    ]
    report = read_layer({"type": "FeatureCollection", "features": features})
    assert [w.code for w in report.wards] == ["ok"]
    reasons = {p.index: p.reason for p in report.refused}
    assert "geometry type Point" in reasons[0]
    assert "'code'" in reasons[1]
    assert "'name'" in reasons[2]
    assert reasons[3] == "no geometry"
    assert "EPSG:4326" in reasons[4]
    assert "malformed" in reasons[5]
    assert reasons[7] == "duplicate code (first at feature 6)"
    assert reasons[8] == "zero area"
    assert reasons[9] == "not a GeoJSON Feature"
    assert report.refused[7].code == "line"


@pytest.mark.unit
def test_invalid_polygon_is_repaired_with_make_valid() -> None:
    report = read_layer({"type": "FeatureCollection", "features": [_feature("x", "Bowtie", _poly(BOWTIE))]})
    assert not report.refused
    (ward,) = report.wards
    assert ward.geometry.is_valid
    assert ward.geometry.geom_type == "MultiPolygon"
    assert ward.geometry.area == pytest.approx(0.005)
    assert "Self-intersection" in report.repaired[0].reason


@pytest.mark.unit
@pytest.mark.parametrize("doc", [[], {"type": "Feature"}, {"type": "FeatureCollection"}])
def test_not_a_feature_collection_is_an_error(doc: Any) -> None:
    with pytest.raises(ValueError, match="FeatureCollection"):
        read_layer(doc)
