"""firmware/main.py on the MicroPython unix port, with a fake ``machine`` module (no ESP32 needed)."""

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.firmware.fw_tools import ROOT, tool

FAKE = ROOT / "tests/firmware/fake_machine"
PINS = {"led": 2, "button": 0, "trig": 5, "echo": 18, "battery": 34, "uart_tx": 17, "uart_rx": 16}


def _flash(tmp_path: Path, kind: str, **extra: object) -> Path:
    """Lay the device's flash out as provisioning does: /main.py, /config.json, /firmware, /protocol."""
    shutil.copytree(ROOT / "firmware", tmp_path / "firmware", ignore=shutil.ignore_patterns("__pycache__"))
    (tmp_path / "protocol").mkdir()
    for name in ("__init__.py", "frames.py", "hmac_sha256.py", "mesh.py"):
        shutil.copy(ROOT / "protocol" / name, tmp_path / "protocol" / name)
    shutil.copy(ROOT / "firmware/main.py", tmp_path / "main.py")
    cfg = {
        "node_id": 184549442,
        "key": bytes(range(16)).hex(),
        "kind": kind,
        "pins": PINS,
        "sos": {"kind": 2, "people": 4, "vulnerable": 1},
        **extra,
    }
    (tmp_path / "config.json").write_text(json.dumps(cfg))
    return tmp_path


def _run(flash: Path, script: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, MICROPYPATH=f"{FAKE}:.frozen:{flash}")
    return subprocess.run(
        [tool("micropython"), str(FAKE / script), *args], cwd=flash, env=env, capture_output=True, text=True,
        timeout=60,
    )


@pytest.mark.unit
def test_sos_button_main_loop(tmp_path: Path) -> None:
    proc = _run(_flash(tmp_path, "sos"), "run_sos.py")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "sos ok" in proc.stdout


@pytest.mark.unit
def test_water_level_main_loop_and_boot_epoch(tmp_path: Path) -> None:
    flash = _flash(tmp_path, "water_level")
    proc = _run(flash, "run_sensor.py")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "sensor ok" in proc.stdout
    first = int((flash / "boot_epoch").read_text())
    assert _run(flash, "run_sensor.py").returncode == 0
    assert int((flash / "boot_epoch").read_text()) == (first + 1) & 0xFFFF  # persisted, +1 per boot


@pytest.mark.unit
def test_safe_boot_leaves_the_repl(tmp_path: Path) -> None:
    flash = _flash(tmp_path, "sos")
    (flash / "held.py").write_text("import machine\nmachine.Pin.levels[0] = 0\nimport main\n")
    env = dict(os.environ, MICROPYPATH=f"{FAKE}:.frozen:{flash}")
    proc = subprocess.run([tool("micropython"), "held.py"], cwd=flash, env=env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert "safe boot" in proc.stdout
    assert not (flash / "boot_epoch").exists()


@pytest.mark.unit
def test_radio_not_answering_keeps_frames_in_flash_for_the_next_boot(tmp_path: Path) -> None:
    flash = _flash(tmp_path, "water_level")
    proc = _run(flash, "run_sensor.py", "mute")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "hellos 1 sent ['water_level'] queued_bytes" in proc.stdout
    queued = (flash / "queue.bin").read_bytes()
    assert len(queued) == (2 + 24) + (2 + 27)  # a reading and a node status, each after a 2-byte record head
    proc = _run(flash, "run_sensor.py", "ack", "5")  # reboot with the radio back
    assert proc.returncode == 0, proc.stdout + proc.stderr
    # The previous boot's reading and status go first, then this boot's.
    assert "sent ['water_level', 'node_status', 'water_level', 'node_status']" in proc.stdout


@pytest.mark.unit
def test_garbage_on_the_uart_is_skipped(tmp_path: Path) -> None:
    proc = _run(_flash(tmp_path, "water_level"), "run_sensor.py", "garbage")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "sensor ok" in proc.stdout


@pytest.mark.unit
@pytest.mark.parametrize(
    "text", ["", "{not json", '{"node_id": 1}', '{"node_id": 1, "key": "zz", "kind": "sos", "pins": {}}',
             json.dumps({"node_id": 1, "key": "00" * 16, "kind": "toaster", "pins": PINS}),
             json.dumps({"node_id": 1, "key": "00" * 8, "kind": "sos", "pins": PINS})],
)
def test_corrupt_config_leaves_the_repl_and_starts_nothing(tmp_path: Path, text: str) -> None:
    flash = _flash(tmp_path, "sos")
    (flash / "config.json").write_text(text)
    proc = _run(flash, "run_sos.py")
    assert "bad config.json, not starting" in proc.stdout, proc.stdout + proc.stderr
    assert not (flash / "boot_epoch").exists()


@pytest.mark.unit
def test_the_config_provisioning_writes_runs_the_firmware(tmp_path: Path) -> None:
    from edge_nodes.provision import device_config
    from edge_nodes.registry_io import FleetNode
    from protocol.registry import NodeRecord

    flash = _flash(tmp_path, "water_level")
    node = FleetNode(NodeRecord(0x0A000001, "water_level", bytes(range(16)), "19813", station_id="kim_long"), 8.0)
    (flash / "config.json").write_text(json.dumps(device_config(node)))
    proc = _run(flash, "run_sensor.py", "ack")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "sensor ok" in proc.stdout


@pytest.mark.unit
def test_pressure_transducer_node(tmp_path: Path) -> None:
    flash = _flash(tmp_path, "water_level")
    cfg = json.loads((flash / "config.json").read_text())
    cfg.update(sensor="pressure", ref_mm=8000)
    cfg["pins"] = {"pressure": 35, "uart_tx": 17, "uart_rx": 16}
    (flash / "config.json").write_text(json.dumps(cfg))
    # The fake ADC reads 1.9 V: 12.67 mA through 150 ohm, 2708 mm of water over the transducer.
    proc = _run(flash, "run_sensor.py", "ack", "3", str(8000 - 2708))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "sensor ok" in proc.stdout


@pytest.mark.unit
def test_water_level_deep_sleep_batches_and_keeps_its_boot_epoch(tmp_path: Path) -> None:
    flash = _flash(tmp_path, "water_level", deep_sleep=True, batch=3, listen_ms=0)
    proc = _run(flash, "run_sleeper.py", "sensor")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "sensor sleeper ok" in proc.stdout
    epoch = int((flash / "boot_epoch").read_text())
    # Boot: the first reading alone and a status; then a batch of three every third wake. A wake with
    # nothing to send never talks to the radio (three hellos in eight wakes).
    assert f"wakes [[('water_level', {epoch}, 0), ('node_status', {epoch}, 1)], [], [], " \
           f"[('water_level_batch', {epoch}, 4)], [], [], [('water_level_batch', {epoch}, 7)], []]" in proc.stdout
    assert "hellos 3" in proc.stdout
    assert "sleeps [300000, 300000" in proc.stdout
    assert _run(flash, "run_sleeper.py", "sensor").returncode == 0  # a real boot (power cycle)
    assert int((flash / "boot_epoch").read_text()) == (epoch + 1) & 0xFFFF


@pytest.mark.unit
def test_sos_button_sleeps_until_pressed_and_wakes_into_the_same_boot(tmp_path: Path) -> None:
    proc = _run(_flash(tmp_path, "sos", deep_sleep=True, sleep_after_ms=200), "run_sleeper.py", "sos")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "sos sleeper ok" in proc.stdout
