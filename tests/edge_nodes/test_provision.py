"""Provisioning writes the firmware image and the node's config.json: checked without a device."""

import json
import os
import stat
import tempfile
from collections.abc import Sequence
from pathlib import Path

import pytest

from edge_nodes import provision
from edge_nodes.fleet import ButtonSite, StationSite, build_fleet
from edge_nodes.registry_io import FleetNode, save
from floodmesh.cli import main as cli_main
from protocol.registry import NodeRecord

pytestmark = pytest.mark.unit
ROOT = Path(__file__).resolve().parents[2]


def _nodes() -> list[FleetNode]:
    reg = build_fleet([StationSite("kim_long", "19813", 16.41667, 107.5667)], [ButtonSite("19774")],
                      demo_secret=b"p")
    return [FleetNode(r, 8.0 if r.kind == "water_level" else None) for r in reg]


def test_plan_writes_the_whole_image_and_a_config_the_firmware_accepts(tmp_path: Path) -> None:
    sensor = _nodes()[0]
    p = provision.plan(sensor, "/dev/ttyUSB0", tmp_path / "cfg.json", interval_s=120)
    dsts = [dst for _src, dst in p.files]
    expected = {"main.py", "config.json", "protocol/__init__.py", "protocol/frames.py", "protocol/hmac_sha256.py",
                "protocol/mesh.py"}
    expected |= {f"firmware/{f.name}" for f in (ROOT / "firmware").glob("*.py") if f.name != "main.py"}
    assert set(dsts) == expected
    assert len(dsts) == len(expected)
    assert p.config["node_id"] == sensor.record.node_id
    assert p.config["key"] == sensor.record.key.hex()
    assert (p.config["kind"], p.config["interval_s"]) == ("water_level", 120)
    # Deep sleep and batches of twelve, as benchmarks/airtime.py models (the firmware batches only at
    # intervals of 300 s or more: this 120 s node sends each reading at once); the radio always powered.
    assert (p.config["deep_sleep"], p.config["batch"]) == (True, 12)
    assert (p.config["radio_power_pin"], p.config["radio_boot_ms"]) == (None, 2000)
    assert all(cmd[:3] == ["mpremote", "connect", "/dev/ttyUSB0"] for cmd in p.commands)
    assert p.commands[-1][-1] == "reset"
    assert "os.remove('queue.bin')" in p.commands[0][-1]  # frames tagged with an old key go


def test_water_level_power_and_sleep_options(tmp_path: Path) -> None:
    sensor = _nodes()[0]
    p = provision.plan(sensor, "/dev/ttyUSB0", tmp_path / "cfg.json", radio_power_pin=25, radio_boot_ms=3000,
                       batch=3, deep_sleep=False)
    assert {k: p.config[k] for k in ("deep_sleep", "batch", "radio_power_pin", "radio_boot_ms")} == {
        "deep_sleep": False, "batch": 3, "radio_power_pin": 25, "radio_boot_ms": 3000}
    for bad in ({"radio_power_pin": 34}, {"radio_power_pin": -1}, {"batch": 0}, {"batch": 17}, {"radio_boot_ms": -5}):
        with pytest.raises(provision.ProvisionError):
            provision.device_config(sensor, **bad)  # type: ignore[arg-type]
    button = provision.device_config(_nodes()[1], radio_power_pin=25)
    assert "radio_power_pin" not in button  # the button's radio options are not written (yet)


def test_button_config_and_kinds_without_firmware(tmp_path: Path) -> None:
    button = _nodes()[1]
    cfg = provision.device_config(button)
    assert cfg["kind"] == "sos"
    assert "sos" in cfg
    radio = FleetNode(NodeRecord(0x0C000001, "official_radio", b"k" * 16, "19774"))
    with pytest.raises(provision.ProvisionError, match="official_radio"):
        provision.device_config(radio)


def test_execute_stages_config_runs_commands_and_removes_the_key_file(tmp_path: Path) -> None:
    staged = tmp_path / "cfg.json"
    p = provision.plan(_nodes()[0], "/dev/ttyACM0", staged)
    seen: list[Sequence[str]] = []

    def runner(cmd: Sequence[str]) -> int:
        seen.append(cmd)
        if cmd[-1] == ":config.json":
            assert json.loads(staged.read_text())["key"] == p.config["key"]
            assert stat.S_IMODE(staged.stat().st_mode) == 0o600
        return 0

    assert provision.execute(p, runner) == 0
    assert seen == p.commands
    assert not staged.exists()


def test_execute_stops_at_the_first_failure(tmp_path: Path) -> None:
    p = provision.plan(_nodes()[0], "/dev/ttyACM0", tmp_path / "cfg.json")
    seen: list[Sequence[str]] = []

    def runner(cmd: Sequence[str]) -> int:
        seen.append(cmd)
        return 1 if len(seen) == 3 else 0

    assert provision.execute(p, runner) == 1
    assert len(seen) == 3
    assert not (tmp_path / "cfg.json").exists()


def test_cli_dry_run_shows_files_and_config_but_not_the_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    nodes = _nodes()
    save(nodes, tmp_path / "fleet.csv")
    rc = cli_main(["nodes", "provision", "--port", "/dev/ttyUSB0", "--registry", str(tmp_path / "fleet.csv"),
                   "--dry-run", "0a000001"])
    out = capsys.readouterr().out
    assert rc == 0
    head = json.loads(out.splitlines()[0])
    assert head["config"]["node_id"] == 0x0A000001
    assert head["config"]["key"] == "<16 bytes>"
    # The operator sees the sleep and radio-power settings the node will run with.
    assert {k: head["config"][k] for k in ("deep_sleep", "batch", "radio_power_pin", "radio_boot_ms")} == {
        "deep_sleep": True, "batch": 12, "radio_power_pin": None, "radio_boot_ms": 2000}
    assert "config.json" in head["files"]
    assert nodes[0].record.key.hex() not in out
    assert cli_main(["nodes", "provision", "--port", "p", "--registry", str(tmp_path / "fleet.csv"),
                     "--dry-run", "0a0000ff"]) == 2


def test_cli_convert(tmp_path: Path) -> None:
    save(_nodes(), tmp_path / "fleet.csv")
    assert cli_main(["nodes", "convert", str(tmp_path / "fleet.csv"), str(tmp_path / "fleet.geojson")]) == 0
    assert json.loads((tmp_path / "fleet.geojson").read_text())["type"] == "FeatureCollection"
    assert cli_main(["nodes", "convert", str(tmp_path / "nope.csv"), str(tmp_path / "x.json")]) == 2


_FAKE_MPREMOTE = """#!/bin/sh
# A stand-in for mpremote: notes where the config.json is staged (and both modes), fails where told.
if [ "$3" = fs ] && [ "$6" = ":config.json" ]; then
  echo "$5 $(stat -c %a "$(dirname "$5")") $(stat -c %a "$5")" >> "$MPREMOTE_LOG"
  exit "${MPREMOTE_CONFIG_RC:-0}"
fi
if [ "$3" = exec ]; then exit "${MPREMOTE_EXEC_RC:-0}"; fi
exit 0
"""


@pytest.fixture
def fake_mpremote(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fake mpremote first on PATH and a private temp root; returns the log it writes."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "mpremote").write_text(_FAKE_MPREMOTE)
    (bin_dir / "mpremote").chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}:{os.environ['PATH']}")
    monkeypatch.setenv("MPREMOTE_LOG", str(tmp_path / "mpremote.log"))
    (tmp_path / "tmp").mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    return tmp_path / "mpremote.log"


def _real_fleet_csv(tmp_path: Path) -> Path:
    reg = build_fleet([StationSite("kim_long", "19813", 16.41667, 107.5667)], [])  # real keys: not a demo
    save([FleetNode(r, 8.0) for r in reg], tmp_path / "fleet.csv")
    return tmp_path / "fleet.csv"


@pytest.mark.parametrize("config_rc", [0, 1])
def test_config_is_staged_in_a_private_directory_that_is_gone_afterwards(
    tmp_path: Path, fake_mpremote: Path, monkeypatch: pytest.MonkeyPatch, config_rc: int
) -> None:
    monkeypatch.setenv("MPREMOTE_CONFIG_RC", str(config_rc))
    rc = cli_main(["nodes", "provision", "--port", "/dev/fake", "--registry", str(_real_fleet_csv(tmp_path)),
                   "0a000001"])
    assert rc == config_rc  # mpremote's failure is the command's exit code
    staged, dir_mode, file_mode = fake_mpremote.read_text().split()
    assert (dir_mode, file_mode) == ("700", "600")
    assert Path(staged).name == "config.json"
    assert Path(staged).parent.parent == tmp_path / "tmp"
    assert not Path(staged).parent.exists()
    assert list((tmp_path / "tmp").iterdir()) == []


def test_nothing_is_left_when_mpremote_fails_before_the_copy(
    tmp_path: Path, fake_mpremote: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MPREMOTE_EXEC_RC", "3")
    assert cli_main(["nodes", "provision", "--port", "/dev/fake", "--registry", str(_real_fleet_csv(tmp_path)),
                     "0a000001"]) == 3
    assert not fake_mpremote.exists()  # stopped at the first command
    assert list((tmp_path / "tmp").iterdir()) == []


def test_staging_directories_are_unpredictable_and_removed_on_error(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    with provision.staged_config(0x0A000001) as first, provision.staged_config(0x0A000001) as second:
        assert first.parent != second.parent
        assert stat.S_IMODE(first.parent.stat().st_mode) == 0o700

    def copy_then_fail() -> None:
        with provision.staged_config(0x0A000001) as staged:
            staged.write_text("{}")
            raise RuntimeError("cable pulled")

    with pytest.raises(RuntimeError, match="cable pulled"):
        copy_then_fail()
    assert list(tmp_path.iterdir()) == []
