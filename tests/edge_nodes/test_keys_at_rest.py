"""Keys at rest on the operator's machine: one ward's export, private files, no laundering of demo keys."""

import json
import stat
from pathlib import Path

import pytest

from edge_nodes import registry_io
from edge_nodes.fleet import ButtonSite, StationSite, build_fleet
from edge_nodes.registry_io import FleetNode
from floodmesh.cli import main
from gateway.node_keys import load_ward_registry
from protocol.registry import NodeRegistry, RegistryError

pytestmark = pytest.mark.unit
KIM_LONG, PHU_XUAN = "19774", "19753"


def _province(tmp_path: Path, demo: bool = False) -> Path:
    registry = build_fleet([StationSite("kim_long", "19813", 16.41667, 107.5667)],
                           [ButtonSite(KIM_LONG), ButtonSite(KIM_LONG), ButtonSite(PHU_XUAN)],
                           demo_secret=b"t" if demo else None)
    registry.save(tmp_path / "nodes.json")
    return tmp_path / "nodes.json"


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_build_fleet_marks_derived_keys_as_demo() -> None:
    assert build_fleet([], [ButtonSite(KIM_LONG)], demo_secret=b"s").demo
    assert not build_fleet([], [ButtonSite(KIM_LONG)]).demo


def test_export_writes_only_that_wards_nodes_0600(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    province = _province(tmp_path)
    out = tmp_path / f"nodes-{KIM_LONG}.json"
    assert main(["nodes", "export", "--ward", KIM_LONG, "--registry", str(province), "--out", str(out)]) == 0
    assert "2 node(s) of ward 19774" in capsys.readouterr().out
    exported = NodeRegistry.load(out)
    assert {r.ward for r in exported} == {KIM_LONG}
    assert list(exported) == NodeRegistry.load(province).in_ward(KIM_LONG)
    assert _mode(out) == 0o600
    assert len(load_ward_registry(out, KIM_LONG, allow_demo=False)) == 2  # what its gateway accepts


def test_export_keeps_the_demo_marker(tmp_path: Path) -> None:
    out = tmp_path / "ward.json"
    assert main(["nodes", "export", "--ward", PHU_XUAN, "--registry", str(_province(tmp_path, demo=True)),
                 "--out", str(out)]) == 0
    assert NodeRegistry.load(out).demo


def test_export_of_a_ward_without_nodes_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "ward.json"
    assert main(["nodes", "export", "--ward", "99999", "--registry", str(_province(tmp_path)),
                 "--out", str(out)]) == 2
    assert "no node of ward 99999" in capsys.readouterr().err
    assert not out.exists()


def test_files_with_keys_are_0600_and_a_map_without_keys_is_not_secret(tmp_path: Path) -> None:
    nodes = registry_io.load(_province(tmp_path))
    registry_io.save(nodes, tmp_path / "fleet.csv")
    registry_io.save(nodes, tmp_path / "keys.geojson", include_keys=True)
    registry_io.save(nodes, tmp_path / "map.geojson")
    assert (_mode(tmp_path / "fleet.csv"), _mode(tmp_path / "keys.geojson")) == (0o600, 0o600)
    assert "key" not in json.loads((tmp_path / "map.geojson").read_text())["features"][0]["properties"]


def test_convert_keeps_demo_keys_marked_and_out_of_csv(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    demo = _province(tmp_path, demo=True)
    assert main(["nodes", "convert", str(demo), str(tmp_path / "copy.json")]) == 0
    assert NodeRegistry.load(tmp_path / "copy.json").demo
    assert main(["nodes", "convert", str(demo), str(tmp_path / "fleet.csv")]) == 2
    assert "demo keys are kept in a registry .json only" in capsys.readouterr().err
    assert not (tmp_path / "fleet.csv").exists()
    # The way out the refusal names: the node list without keys, then fresh keys.
    assert main(["nodes", "convert", str(demo), str(tmp_path / "list.geojson")]) == 0
    assert main(["nodes", "convert", "--new-keys", str(tmp_path / "list.geojson"), str(tmp_path / "real.json")]) == 0
    real = NodeRegistry.load(tmp_path / "real.json")
    assert not real.demo
    assert not {r.key for r in real} & {r.key for r in NodeRegistry.load(demo)}


def test_provisioning_a_device_with_demo_keys_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rc = main(["nodes", "provision", "--port", "/dev/ttyUSB0", "--registry", str(_province(tmp_path, demo=True)),
               "0b000001"])
    assert rc == 2
    assert "demo registry" in capsys.readouterr().err


def test_saving_demo_nodes_as_csv_is_refused(tmp_path: Path) -> None:
    nodes = [FleetNode(r) for r in NodeRegistry.load(_province(tmp_path, demo=True))]
    with pytest.raises(RegistryError, match="demo keys"):
        registry_io.save(nodes, tmp_path / "fleet.csv", demo=True)
