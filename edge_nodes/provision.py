"""Provisioning one ESP32 with ``mpremote``: the firmware, the frame codec, and its config.json.

``plan`` says exactly what would be written (files, config, commands) without a device;
``execute`` runs the commands. Flash layout (firmware/main.py's docstring)::

    /main.py  /config.json  /firmware/*.py  /protocol/{__init__,frames,hmac_sha256,mesh}.py

A re-provisioned node may get a new key: ``queue.bin`` (frames tagged with the old key) is removed;
``boot_epoch`` is kept, so (node id, boot epoch, seq) never repeats across provisionings.

The config.json holds the node's key: on the host it is staged in a fresh private directory
(``staged_config``, mode 0700, a random name no other user can predict or pre-create) and removed
with it afterwards, whatever happened.
"""

import json
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from edge_nodes.registry_io import FleetNode
from protocol.frames import MAX_BATCH
from protocol.secret_file import write_private

ROOT = Path(__file__).resolve().parents[1]
PROTOCOL_ON_DEVICE = ("__init__.py", "frames.py", "hmac_sha256.py", "mesh.py")
# ESP32 DevKit + SX1262-less wiring: the Meshtastic radio is on UART1; override per board with ``pins``.
DEFAULT_PINS = {"led": 2, "button": 0, "buzzer": 4, "trig": 5, "echo": 18, "battery": 34,
                "uart_tx": 17, "uart_rx": 16}
_ROLES = {"water_level": "water_level", "sos_button": "sos"}
# Water-level nodes deep-sleep between readings and, in calm water, send a batch of twelve (an hour of
# 5-minute readings), as benchmarks/airtime.py models; the firmware batches only while interval_s is
# >= 300 s (a shorter interval from central's adaptive reporting, or a fast rise, sends each reading at
# once). No radio power pin unless the board has a load switch for it.
DEEP_SLEEP = True
BATCH = 12
RADIO_BOOT_MS = 2000
_PREP = "import os\nfor d in ('firmware', 'protocol'):\n try: os.mkdir(d)\n except OSError: pass\n" \
        "try: os.remove('queue.bin')\nexcept OSError: pass\n"


class ProvisionError(ValueError):
    """This node cannot be provisioned (unknown kind, missing files)."""


@dataclass(frozen=True)
class ProvisionPlan:
    """What provisioning writes: (host file, device path) pairs, the config, and the mpremote commands."""

    node_id: int
    port: str
    files: list[tuple[Path, str]]
    config: dict[str, object]
    commands: list[list[str]] = field(default_factory=list)


def device_config(node: FleetNode, interval_s: int = 300, pins: dict[str, int] | None = None, *,
                  deep_sleep: bool = DEEP_SLEEP, batch: int = BATCH, radio_power_pin: int | None = None,
                  radio_boot_ms: int = RADIO_BOOT_MS) -> dict[str, object]:
    """The node's config.json (firmware/board.py ``load_config`` reads it).

    Water-level nodes also get ``deep_sleep``, ``batch`` (1..16 readings per frame, used while
    ``interval_s`` >= 300 s), ``radio_power_pin`` (the GPIO of the radio's
    load switch, an output-capable GPIO 0..33; null = the radio is always powered) and ``radio_boot_ms``
    (firmware/main.py).
    """
    bad_pin = radio_power_pin is not None and not 0 <= radio_power_pin <= 33
    if not 1 <= batch <= MAX_BATCH or radio_boot_ms < 0 or bad_pin:
        raise ProvisionError(f"bad batch {batch}, radio_power_pin {radio_power_pin} or radio_boot_ms {radio_boot_ms}")
    rec = node.record
    role = _ROLES.get(rec.kind)
    if role is None:
        raise ProvisionError(f"node {rec.node_id:08x}: kind {rec.kind!r} runs no floodmesh firmware")
    cfg: dict[str, object] = {"node_id": rec.node_id, "key": rec.key.hex(), "kind": role,
                              "pins": dict(pins or DEFAULT_PINS), "wdt_ms": 30000}
    if role == "water_level":
        cfg.update(interval_s=interval_s, fast_interval_s=60, fast_delta_mm=50, sample_s=20, status_s=3600,
                   temp_c=27, deep_sleep=deep_sleep, batch=batch, radio_power_pin=radio_power_pin,
                   radio_boot_ms=radio_boot_ms)
    else:
        cfg.update(sos={"kind": 0, "people": 1, "vulnerable": 0}, status_s=86400)
    return cfg


def firmware_files(root: Path = ROOT) -> list[tuple[Path, str]]:
    """(host source, device path) for the firmware image; firmware/main.py becomes /main.py."""
    files = [(root / "firmware/main.py", "main.py")]
    files += [(p, f"firmware/{p.name}") for p in sorted((root / "firmware").glob("*.py")) if p.name != "main.py"]
    files += [(root / "protocol" / n, f"protocol/{n}") for n in PROTOCOL_ON_DEVICE]
    for src, _ in files:
        if not src.is_file():
            raise ProvisionError(f"missing firmware file {src}")
    return files


def plan(node: FleetNode, port: str, config_path: Path, interval_s: int = 300,
         pins: dict[str, int] | None = None, *, deep_sleep: bool = DEEP_SLEEP, batch: int = BATCH,
         radio_power_pin: int | None = None, radio_boot_ms: int = RADIO_BOOT_MS) -> ProvisionPlan:
    """Everything ``execute`` would do; ``config_path`` is where the config.json is staged on the host."""
    files = firmware_files()
    config = device_config(node, interval_s, pins, deep_sleep=deep_sleep, batch=batch,
                           radio_power_pin=radio_power_pin, radio_boot_ms=radio_boot_ms)
    base = ["mpremote", "connect", port]
    commands = [[*base, "exec", _PREP]]
    commands += [[*base, "fs", "cp", str(src), f":{dst}"] for src, dst in files]
    commands += [[*base, "fs", "cp", str(config_path), ":config.json"], [*base, "reset"]]
    return ProvisionPlan(node.record.node_id, port, [*files, (config_path, "config.json")], config, commands)


Runner = Callable[[Sequence[str]], int]


def _subprocess_runner(cmd: Sequence[str]) -> int:
    # The argv is built by ``plan`` from fixed words, repo paths and the operator's own --port.
    return subprocess.run(list(cmd), check=False).returncode  # noqa: S603


def execute(p: ProvisionPlan, runner: Runner = _subprocess_runner) -> int:
    """Stage config.json and run the commands; stops at the first failure and returns its exit code.

    The node must be in safe boot (button held at power-up) or freshly flashed: a running node's
    watchdog resets it in the middle of the copy.
    """
    staged = Path(p.files[-1][0])
    try:
        write_private(staged, json.dumps(p.config))
        for cmd in p.commands:
            rc = runner(cmd)
            if rc != 0:
                return rc
        return 0
    finally:
        staged.unlink(missing_ok=True)  # the key does not stay on the laptop's disk


@contextmanager
def staged_config(node_id: int) -> Iterator[Path]:
    """Where to stage one node's config.json: inside a new 0700 directory, removed on leaving."""
    directory = Path(tempfile.mkdtemp(prefix=f"floodmesh-{node_id:08x}-"))
    try:
        yield directory / "config.json"
    finally:
        shutil.rmtree(directory, ignore_errors=True)  # the key does not stay on the laptop's disk
