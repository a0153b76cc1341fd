"""``floodmesh nodes provision`` for real: ``mpremote`` over a serial port to the MicroPython unix port.

The unix port's REPL (raw and raw-paste modes included) sits behind a pty (``micropython_serial``);
its working directory is the node's flash. What is proven: every ``mpremote`` command the plan runs
succeeds against a real MicroPython; the image and config.json land byte for byte; the old queue goes
and the boot epoch stays; and the provisioned flash then boots the firmware's config loader on
MicroPython and signs an SOS that the host verifies with the registry's key.

What the unix port cannot show: the final ``mpremote reset`` (``machine.reset()``, a hard reset) does
not exist there. ``mpremote`` sends it without waiting for an answer (``--no-follow``), so its exit
code is 0 on any device; the transcript shows the device refusing it, which pins that gap down.
"""

import json
import os
import secrets
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from edge_nodes import provision
from edge_nodes.registry_io import FleetNode, save
from floodmesh.cli import main as cli_main
from protocol import frames
from protocol.registry import NodeRecord
from tests.edge_nodes.micropython_serial import MicroPythonOnSerial
from tests.firmware.fw_tools import ROOT, tool
from tests.mqtt_peer import wait_until

pytestmark = pytest.mark.integration

BUTTON = NodeRecord(0x0B000123, "sos_button", secrets.token_bytes(16), "19774", 16.4705, 107.5912)
FAKE_MACHINE = ROOT / "tests/firmware/fake_machine"
BOOT_CHECK = """
from firmware import board
from protocol import frames
cfg = board.load_config()
epoch = board.next_boot_epoch()
sos = frames.Frame(cfg["node_id"], epoch, 1, 0, frames.Sos(cfg["sos"]["kind"], cfg["sos"]["people"]))
print(frames.encode(sos, cfg["key"]).hex())
"""


@pytest.fixture
def board(tmp_path: Path) -> Iterator[tuple[MicroPythonOnSerial, Path]]:
    flash = tmp_path / "flash"
    flash.mkdir()
    device = MicroPythonOnSerial(tool("micropython"), flash)
    yield device, flash
    device.close()


def test_provision_writes_the_image_and_config_through_mpremote_to_a_real_micropython(
    tmp_path: Path, board: tuple[MicroPythonOnSerial, Path], monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    device, flash = board
    (flash / "queue.bin").write_bytes(b"frames tagged with the old key")
    (flash / "boot_epoch").write_text("41")
    registry = tmp_path / "nodes.json"
    save([FleetNode(BUTTON)], registry, include_keys=True)
    monkeypatch.setenv("PATH", f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")  # mpremote

    assert cli_main(["nodes", "provision", "--registry", str(registry), "--port", device.path,
                     f"{BUTTON.node_id:08x}"]) == 0, capsys.readouterr()

    for src, dst in provision.firmware_files():
        assert (flash / dst).read_bytes() == src.read_bytes(), f"{dst} did not land intact"
    assert json.loads((flash / "config.json").read_text()) == provision.device_config(FleetNode(BUTTON))
    assert not (flash / "queue.bin").exists()
    assert device.soft_resets >= 1  # mpremote's soft reset on connecting, as on a board

    # The last command, mpremote reset, is a hard reset the unix port does not have.
    wait_until(lambda: b"no attribute 'reset'" in device.transcript, what="the device's answer to machine.reset()")

    env = dict(os.environ, MICROPYPATH=f"{FAKE_MACHINE}:.frozen:{flash}")
    booted = subprocess.run([tool("micropython"), "-c", BOOT_CHECK], cwd=flash, env=env,
                            capture_output=True, text=True, timeout=60, check=False)
    assert booted.returncode == 0, booted.stdout + booted.stderr
    sos = frames.decode(bytes.fromhex(booted.stdout.strip()), BUTTON.key)
    assert (sos.node_id, sos.boot_epoch, sos.payload) == (BUTTON.node_id, 42, frames.Sos(0, 1))
