"""Registry CSV and GeoJSON: round trips, keys kept out of maps, bad rows named."""

import json
from pathlib import Path

import pytest

from edge_nodes.fleet import ButtonSite, StationSite, build_fleet
from edge_nodes.registry_io import FleetNode, from_csv, from_geojson, load, save, to_csv, to_geojson
from protocol.registry import NodeRegistry, RegistryError

pytestmark = pytest.mark.unit


def _fleet() -> list[FleetNode]:
    reg = build_fleet([StationSite("kim_long", "19813", 16.41667, 107.5667)],
                      [ButtonSite("19774", 16.4, 107.54), ButtonSite("19753")], demo_secret=b"t")
    return [FleetNode(r, 8.25 if r.kind == "water_level" else None) for r in reg]


def test_csv_round_trip_keeps_everything() -> None:
    nodes = _fleet()
    text = to_csv(nodes)
    assert text.splitlines()[0] == "node_id,kind,ward,lat,lon,station_id,datum_m,key"
    assert text.splitlines()[1].startswith("0a000001,water_level,19813,16.41667,107.5667,kim_long,8.25,")
    assert from_csv(text) == nodes


def test_geojson_leaves_keys_out_unless_asked() -> None:
    nodes = _fleet()
    doc = json.loads(to_geojson(nodes))
    assert doc["type"] == "FeatureCollection"
    first = doc["features"][0]
    assert first["geometry"] == {"type": "Point", "coordinates": [107.5667, 16.41667]}
    assert "key" not in first["properties"]
    assert doc["features"][2]["geometry"] is None  # a button known only by its ward
    with pytest.raises(RegistryError, match="no key"):
        from_geojson(to_geojson(nodes))
    assert from_geojson(to_geojson(nodes, include_keys=True)) == nodes


def test_import_from_gis_with_fresh_keys() -> None:
    feats = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": [107.59, 16.46]},
         "properties": {"node_id": "0a000009", "kind": "water_level", "ward": "19813", "station_id": "phu_oc",
                        "datum_m": 6.5}}]}
    (node,) = from_geojson(json.dumps(feats), make_keys=True)
    assert (node.record.lat, node.record.lon, node.datum_m) == (16.46, 107.59, 6.5)
    assert len(node.record.key) == 16


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("node_id,kind\n", "lacks column"),
        ("node_id,kind,ward,key\nzz,water_level,1,00112233445566778899aabbccddeeff\n", "line 2"),
        ("node_id,kind,ward,key\n01,boat,1,00112233445566778899aabbccddeeff\n", "unknown kind"),
        ("node_id,kind,ward,lat,key\n01,sos_button,1,16.4,00112233445566778899aabbccddeeff\n", "bad location"),
        ("node_id,kind,ward,lat,lon,key\n01,sos_button,1,95,1,00112233445566778899aabbccddeeff\n", "bad location"),
        ("node_id,kind,ward,datum_m,key\n01,water_level,1,high,00112233445566778899aabbccddeeff\n", "datum_m"),
        ("node_id,kind,ward,key\n01,sos_button,1,0011\n", "shorter than 16"),
        ("node_id,kind,ward,key\n01,sos_button,1,\n", "no key"),
        ("node_id,kind,ward,key\n01,sos_button,1,00112233445566778899aabbccddeeff\n"
         "01,sos_button,2,00112233445566778899aabbccddeeff\n", "listed twice"),
    ],
)
def test_bad_csv_rows_are_refused_with_the_reason(text: str, match: str) -> None:
    with pytest.raises(RegistryError, match=match):
        from_csv(text)


@pytest.mark.parametrize("text", ["[]", "{", '{"type": "FeatureCollection", "features": [1]}',
                                  '{"type": "FeatureCollection", "features": [{"type": "Feature", "geometry": '
                                  '{"type": "Polygon", "coordinates": []}, "properties": {}}]}'])
def test_bad_geojson_is_refused(text: str) -> None:
    with pytest.raises(RegistryError):
        from_geojson(text)


def test_files_by_suffix_and_the_registry_json_for_gateways(tmp_path: Path) -> None:
    nodes = _fleet()
    for name in ("fleet.csv", "fleet.geojson"):
        save(nodes, tmp_path / name, include_keys=True)
        assert load(tmp_path / name) == nodes
    save(nodes, tmp_path / "registry.json")
    assert list(NodeRegistry.load(tmp_path / "registry.json")) == [n.record for n in nodes]
    assert [n.datum_m for n in load(tmp_path / "registry.json")] == [None, None, None]
    with pytest.raises(RegistryError, match="cannot read"):
        load(tmp_path / "missing.csv")
