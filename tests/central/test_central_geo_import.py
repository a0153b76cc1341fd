"""``floodmesh wards import``: a real layer is checked, repaired, reported and installed where central reads it."""

import argparse
import io
import json
from pathlib import Path

import pytest

from central.core.config import DATA_DIR
from central.geo.authorities import load_authorities
from central.geo.ward_locator import WardLocator
from floodmesh import wards_cli

BOWTIE = [[107.0, 16.0], [107.1, 16.1], [107.1, 16.0], [107.0, 16.1], [107.0, 16.0]]


def _layer(tmp_path: Path) -> Path:
    doc = json.loads((DATA_DIR / "hue_wards.geojson").read_text(encoding="utf-8"))
    doc["features"].append({"type": "Feature", "properties": {"code": "X1", "name": "Bowtie"},
                            "geometry": {"type": "Polygon", "coordinates": [BOWTIE]}})
    doc["features"].append({"type": "Feature", "properties": {"code": "X2", "name": "Gauge"},
                            "geometry": {"type": "Point", "coordinates": [107.5, 16.4]}})
    path = tmp_path / "layer.geojson"
    path.write_text(json.dumps(doc), encoding="utf-8")
    return path


@pytest.mark.unit
def test_import_installs_a_layer_central_can_load(tmp_path: Path) -> None:
    out = io.StringIO()
    data = tmp_path / "data"
    code = wards_cli.import_wards(_layer(tmp_path), DATA_DIR / "authorities.csv", data, out)
    text = out.getvalue()
    assert code == 0, text
    assert "repaired feature 40 (X1): repaired with make_valid: Self-intersection" in text
    assert "refused feature 41 (X2): geometry type Point (need Polygon or MultiPolygon)" in text
    assert "1 ward(s) without an authority go to the IOC: X1" in text
    assert "imported 41 ward(s) (1 repaired, 1 refused)" in text
    assert f"wards_path={data / 'wards.geojson'}" in text
    loc = WardLocator.from_geojson(data / "wards.geojson", load_authorities(data / "authorities.csv"))
    assert len(loc.wards) == 41
    assert loc.locate(107.54855, 16.40221).code == "19774"
    assert loc.authority_name("19774") == "UBND Phường Kim Long"


@pytest.mark.unit
def test_bad_inputs_write_nothing(tmp_path: Path) -> None:
    bad_csv = tmp_path / "a.csv"
    bad_csv.write_text("ward_code,authority\n19774,UBND\n", encoding="utf-8")
    out = io.StringIO()
    assert wards_cli.import_wards(DATA_DIR / "hue_wards.geojson", bad_csv, tmp_path / "d", out) == 1
    assert "missing column(s) duty_officer" in out.getvalue()
    empty = tmp_path / "empty.geojson"
    empty.write_text('{"type": "FeatureCollection", "features": []}', encoding="utf-8")
    out = io.StringIO()
    assert wards_cli.import_wards(empty, DATA_DIR / "authorities.csv", tmp_path / "d", out) == 1
    assert "no usable ward" in out.getvalue()
    assert not (tmp_path / "d").exists()


@pytest.mark.unit
def test_bad_radio_id_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    path.write_text("ward_code,authority,duty_officer,phone,radio_node_id,escalation\n"
                    "19774,UBND,Officer,+84,zz,Hue IOC\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"a\.csv:2: radio_node_id 'zz' is not hex"):
        load_authorities(path)


@pytest.mark.unit
def test_an_officer_radio_key_in_the_csv_seeds_the_pinned_key(tmp_path: Path) -> None:
    key = "AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA="
    path = tmp_path / "a.csv"
    path.write_text("ward_code,authority,duty_officer,phone,radio_node_id,escalation,radio_public_key\n"
                    f"19774,UBND,Officer,+84,0d000001,Hue IOC,{key}\n"
                    "19753,UBND,Officer,+84,,Hue IOC,\n", encoding="utf-8")
    loaded = load_authorities(path)
    assert (loaded["19774"].radio_public_key, loaded["19753"].radio_public_key) == (key, None)
    path.write_text("ward_code,authority,duty_officer,phone,radio_node_id,escalation,radio_public_key\n"
                    "19774,UBND,Officer,+84,0d000001,Hue IOC,AAAA\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"a\.csv:2: radio_public_key: public_key must be 32 bytes"):
        load_authorities(path)
    path.write_text("ward_code,authority,duty_officer,phone,radio_node_id,escalation,radio_public_key\n"
                    f"19774,UBND,Officer,+84,,Hue IOC,{key}\n", encoding="utf-8")
    with pytest.raises(ValueError, match="needs the radio_node_id"):
        load_authorities(path)


@pytest.mark.unit
def test_parser_and_default_data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    parser = argparse.ArgumentParser()
    wards_cli.add_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["wards", "import", "l.geojson", "--authorities", "a.csv"])
    assert (args.layer, args.authorities, args.data_dir) == (Path("l.geojson"), Path("a.csv"), None)
    monkeypatch.setenv("FLOODMESH_DATA_DIR", str(tmp_path / "fm"))
    assert wards_cli.default_data_dir() == tmp_path / "fm"
    monkeypatch.delenv("FLOODMESH_DATA_DIR")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert wards_cli.default_data_dir() == tmp_path / "xdg" / "floodmesh"
    monkeypatch.setenv("FLOODMESH_DATA_DIR", str(tmp_path / "cli"))
    code = args.func(parser.parse_args(["wards", "import", str(DATA_DIR / "hue_wards.geojson"),
                                        "--authorities", str(DATA_DIR / "authorities.csv")]))
    assert code == 0
    assert (tmp_path / "cli" / "wards.geojson").exists()
