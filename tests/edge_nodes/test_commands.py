"""`floodmesh nodes provision --dry-run` shows the config a node would get, options included."""

import json
from pathlib import Path

import pytest

from edge_nodes.fleet import StationSite, build_fleet
from floodmesh.cli import main

pytestmark = pytest.mark.unit


def test_provision_options_reach_the_node_config(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    build_fleet([StationSite("kim_long", "19813", 16.4, 107.5)], [], demo_secret=b"x").save(tmp_path / "n.json")
    rc = main(["nodes", "provision", "--port", "/dev/ttyUSB0", "--registry", str(tmp_path / "n.json"),
               "--radio-power-pin", "25", "--radio-boot-ms", "1500", "--batch", "3", "--dry-run", "0a000001"])
    assert rc == 0
    shown = json.loads(capsys.readouterr().out.splitlines()[0])
    config = shown["config"]
    assert (config["radio_power_pin"], config["radio_boot_ms"], config["batch"], config["deep_sleep"]) == (
        25, 1500, 3, True)
    assert config["key"] == "<16 bytes>"  # the key is never printed


def test_an_unknown_node_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    build_fleet([], [], demo_secret=b"x").save(tmp_path / "n.json")
    rc = main(["nodes", "provision", "--port", "/dev/ttyUSB0", "--registry", str(tmp_path / "n.json"), "--dry-run",
               "0a0000ff"])
    assert rc == 2
    assert "not in" in capsys.readouterr().err
