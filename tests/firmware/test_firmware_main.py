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
    cfg = device_config(node)
    assert (cfg["deep_sleep"], cfg["batch"], cfg["radio_power_pin"]) == (True, 12, None)
    # listen_ms is not written by provisioning (firmware default 3 s); 0 so the test does not wait.
    (flash / "config.json").write_text(json.dumps(dict(cfg, listen_ms=0)))
    proc = _run(flash, "run_sleeper.py", "sensor")  # provisioned water-level nodes deep-sleep
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "sensor sleeper ok" in proc.stdout
    assert "power always" in proc.stdout
    assert "light 0 0" in proc.stdout  # an always-powered radio is ready at once: no light sleep
    # Power-gated (a load switch on GPIO 25), with a short boot so the test does not wait 2 s a wake.
    cfg = device_config(node, radio_power_pin=25, radio_boot_ms=40)
    (flash / "config.json").write_text(json.dumps(dict(cfg, listen_ms=0)))
    proc = _run(flash, "run_sleeper.py", "sensor", "14")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "sensor sleeper ok" in proc.stdout
    epoch = int((flash / "boot_epoch").read_text())
    # Boot (a reading and a status), then a batch of twelve and the hourly status on the twelfth wake:
    # the radio is on for those only, and the ESP32 light-sleeps through its boot each time.
    assert f"[('water_level_batch', {epoch}, 13), ('node_status', {epoch}, 14)], []]" in proc.stdout
    assert "power [True" + ", False" * 11 + ", True, False]" in proc.stdout
    assert "light 2 " in proc.stdout


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


@pytest.mark.unit
def test_power_gated_water_level_node_switches_the_radio_on_only_to_send(tmp_path: Path) -> None:
    flash = _flash(tmp_path, "water_level", deep_sleep=True, batch=3, listen_ms=0, radio_power_pin=25,
                   radio_boot_ms=60)
    proc = _run(flash, "run_sleeper.py", "sensor")
    # run_sleeper checks: the pin is low at every deep sleep, nothing reached the radio while it was
    # off or still booting (fake_radio counts such bytes as lost), and the boot epoch stayed.
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "sensor sleeper ok" in proc.stdout
    epoch = int((flash / "boot_epoch").read_text())
    assert f"wakes [[('water_level', {epoch}, 0), ('node_status', {epoch}, 1)], [], [], " \
           f"[('water_level_batch', {epoch}, 4)], [], [], [('water_level_batch', {epoch}, 7)], []]" in proc.stdout
    # On (high) only on the wakes that send; a wake with nothing to send leaves it low throughout.
    assert "power [True, False, False, True, False, False, True, False]" in proc.stdout
    assert "hellos 3" in proc.stdout  # one hello per powered wake: none was lost to a booting radio
    # The ESP32 light-sleeps through each of the three radio boots (60 ms each) instead of polling.
    count, total = _light(proc.stdout)
    assert count == 3
    assert 3 * 50 <= total <= 3 * 60
    assert _run(flash, "run_sleeper.py", "sensor").returncode == 0  # a real boot (power cycle)
    assert int((flash / "boot_epoch").read_text()) == (epoch + 1) & 0xFFFF


def _light(stdout: str) -> tuple[int, int]:
    """run_sleeper's ``light`` line: the sensor's light sleeps (count, total ms)."""
    line = next(x for x in stdout.splitlines() if x.startswith("light "))
    count, total = line.split()[1:]
    return int(count), int(total)


@pytest.mark.unit
def test_short_interval_from_a_config_downlink_sends_each_reading_at_once(tmp_path: Path) -> None:
    # Central's adaptive reporting (station above BD1 or rising fast) sets 60 s: batching (12) stops.
    flash = _flash(tmp_path, "water_level", deep_sleep=True, batch=12, listen_ms=0, radio_power_pin=25,
                   radio_boot_ms=20)
    proc = _run(flash, "run_sleeper.py", "sensor", "5", "config:0:60")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    epoch = int((flash / "boot_epoch").read_text())
    assert f"wakes [[('water_level', {epoch}, 0), ('node_status', {epoch}, 1)], [('water_level', {epoch}, 2)], " \
           f"[('water_level', {epoch}, 3)], [('water_level', {epoch}, 4)], [('water_level', {epoch}, 5)]]" \
        in proc.stdout
    assert "sleeps [60000, 60000, 60000, 60000, 60000]" in proc.stdout
    assert "power [True, True, True, True, True]" in proc.stdout
    assert _light(proc.stdout)[0] == 5


@pytest.mark.unit
def test_calm_interval_batches_twelve_until_a_fast_rise_sends_at_once(tmp_path: Path) -> None:
    flash = _flash(tmp_path, "water_level", deep_sleep=True, batch=12, listen_ms=0, radio_power_pin=25,
                   radio_boot_ms=20)
    # From the fourth wake the echo comes back sooner: ~75 mm closer water, a fast rise.
    proc = _run(flash, "run_sleeper.py", "sensor", "6", "rise:4:5400")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    epoch = int((flash / "boot_epoch").read_text())
    # The three calm readings pending go first as a batch, then the rise alone; the next look is a minute on.
    assert f"wakes [[('water_level', {epoch}, 0), ('node_status', {epoch}, 1)], [], [], [], " \
           f"[('water_level_batch', {epoch}, 4), ('water_level', {epoch}, 5)], []]" in proc.stdout
    assert "sleeps [300000, 300000, 300000, 300000, 60000" in proc.stdout
    assert "power [True, False, False, False, True, False]" in proc.stdout


@pytest.mark.unit
def test_power_gated_water_level_node_that_never_sends_never_powers_the_radio(tmp_path: Path) -> None:
    # A wake with nothing to send: the flash holds the real boot's frames sent, the next wakes batch.
    flash = _flash(tmp_path, "water_level", deep_sleep=True, batch=20, status_s=86400, listen_ms=0,
                   radio_power_pin=25, radio_boot_ms=20)
    proc = _run(flash, "run_sleeper.py", "sensor")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "power [True, False, False, False, False, False, False, False]" in proc.stdout


@pytest.mark.unit
def test_power_gated_sos_button_cuts_the_radio_only_for_its_idle_sleep(tmp_path: Path) -> None:
    flash = _flash(tmp_path, "sos", deep_sleep=True, sleep_after_ms=200, radio_power_pin=25, radio_boot_ms=40)
    proc = _run(flash, "run_sleeper.py", "sos")
    # run_sleeper checks: low at the idle sleep, high again after the ext0 wake, no byte lost to an
    # unpowered or booting radio, and the SOS after the wake in the same boot epoch (seq + 1).
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "sos sleeper ok" in proc.stdout
    assert "power [True, True]" in proc.stdout


@pytest.mark.unit
def test_sos_button_without_a_power_pin_never_touches_one(tmp_path: Path) -> None:
    proc = _run(_flash(tmp_path, "sos", deep_sleep=True, sleep_after_ms=200), "run_sleeper.py", "sos")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "power always" in proc.stdout
