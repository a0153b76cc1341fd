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


def _flash(tmp_path: Path, kind: str) -> Path:
    """Lay the device's flash out as provisioning does: /main.py, /config.json, /firmware, /protocol."""
    shutil.copytree(ROOT / "firmware", tmp_path / "firmware", ignore=shutil.ignore_patterns("__pycache__"))
    (tmp_path / "protocol").mkdir()
    for name in ("__init__.py", "frames.py", "hmac_sha256.py"):
        shutil.copy(ROOT / "protocol" / name, tmp_path / "protocol" / name)
    shutil.copy(ROOT / "firmware/main.py", tmp_path / "main.py")
    cfg = {
        "node_id": 184549442,
        "key": bytes(range(16)).hex(),
        "kind": kind,
        "pins": PINS,
        "sos": {"kind": 2, "people": 4, "vulnerable": 1},
    }
    (tmp_path / "config.json").write_text(json.dumps(cfg))
    return tmp_path


def _run(flash: Path, script: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, MICROPYPATH=f"{FAKE}:.frozen:{flash}")
    return subprocess.run(
        [tool("micropython"), str(FAKE / script)], cwd=flash, env=env, capture_output=True, text=True, timeout=60
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
