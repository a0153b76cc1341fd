"""Fixtures for central's tests: known nodes and keys, the shipped reference data, a real Mosquitto."""

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from central_testkit import BUTTON_ID, BUTTON_KEY, LOOSE_BUTTON_ID, NOW, SENSOR_ID, SENSOR_KEY, WARD

from central.core.config import DATA_DIR
from central.geo.authorities import load_authorities
from central.geo.ward_locator import WardLocator
from central.ingest.processor import UplinkProcessor
from central.store.sqlite import CentralStore
from central.telemetry.stations import Station, load_stations
from protocol.registry import NodeRecord, NodeRegistry


@pytest.fixture
def registry() -> NodeRegistry:
    """Three nodes with known keys: a Kim Long sensor, a located button and an unlocated one."""
    return NodeRegistry(
        [
            NodeRecord(SENSOR_ID, "water_level", SENSOR_KEY, "19813", 16.41667, 107.5667, "kim_long"),
            NodeRecord(BUTTON_ID, "sos_button", BUTTON_KEY, WARD, 16.402215, 107.548547),
            NodeRecord(LOOSE_BUTTON_ID, "sos_button", BUTTON_KEY, WARD),
        ]
    )


@pytest.fixture(scope="session")
def locator() -> WardLocator:
    """The shipped 40 wards of Huế with their demo authorities."""
    return WardLocator.from_geojson(DATA_DIR / "hue_wards.geojson", load_authorities(DATA_DIR / "authorities.csv"))


@pytest.fixture(scope="session")
def stations() -> dict[str, Station]:
    """The shipped stations (Kim Long datum 8.0 m, Phú Ốc 9.0 m)."""
    return load_stations(DATA_DIR / "stations.json")


@pytest.fixture
def store(tmp_path: Path) -> Iterator[CentralStore]:
    """A fresh store in a temp directory."""
    s = CentralStore(tmp_path / "central.sqlite")
    yield s
    s.close()


@pytest.fixture
def clock() -> list[datetime]:
    """A settable clock: tests change clock[0]."""
    return [NOW]


@pytest.fixture
def processor(
    registry: NodeRegistry,
    locator: WardLocator,
    stations: dict[str, Station],
    store: CentralStore,
    clock: list[datetime],
) -> UplinkProcessor:
    """An UplinkProcessor over the test registry, the shipped data and a temp store."""
    return UplinkProcessor(registry, locator, stations, store, clock=lambda: clock[0])


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def mosquitto(tmp_path: Path) -> Iterator[tuple[str, int]]:
    """A private Mosquitto on a free loopback port (not the system one on 1883); yields (host, port)."""
    binary = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    if not Path(binary).exists():
        pytest.skip("mosquitto is not installed")
    port = _free_port()
    conf = tmp_path / "mosquitto.conf"
    conf.write_text(f"listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\n")
    proc = subprocess.Popen([binary, "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 10
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                raise RuntimeError(f"mosquitto did not start: {proc.communicate()[1]!r}") from None
            time.sleep(0.05)
    yield "127.0.0.1", port
    proc.terminate()
    try:
        proc.wait(5)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    if proc.stderr is not None:
        proc.stderr.close()
