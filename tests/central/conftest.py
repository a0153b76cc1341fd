"""Fixtures for central's tests: known nodes and keys, the shipped reference data (Mosquitto: tests/conftest.py)."""

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest

from central.core.config import DATA_DIR
from central.geo.authorities import load_authorities
from central.geo.ward_locator import WardLocator
from central.ingest.processor import UplinkProcessor
from central.store.base import CentralStore
from central.store.postgres import PostgresStore
from central.store.sqlite import SqliteStore
from central.telemetry.stations import Station, load_stations
from protocol.registry import NodeRecord, NodeRegistry
from tests.central import postgres_cluster
from tests.central.central_testkit import BUTTON_ID, BUTTON_KEY, LOOSE_BUTTON_ID, NOW, SENSOR_ID, SENSOR_KEY, WARD
from tests.central.postgres_cluster import PostgresCluster


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


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresCluster]:
    """A PostgreSQL 15 cluster of the test session's own (temp dir, free loopback port); stopped at the end."""
    if not postgres_cluster.installed():
        pytest.fail(postgres_cluster.MISSING)
    cluster = postgres_cluster.start_cluster()
    yield cluster
    cluster.stop()


@pytest.fixture
def postgres_url(postgres: PostgresCluster) -> Iterator[str]:
    """The URL of an empty database of this test's own on the session's cluster."""
    url = postgres.new_database()
    yield url
    postgres.drop_database(url)


@pytest.fixture
def sqlite_store(tmp_path: Path) -> Iterator[SqliteStore]:
    """A fresh SQLite store in a temp directory (tests of what only SQLite has: WAL, old files)."""
    s = SqliteStore(tmp_path / "central.sqlite")
    yield s
    s.close()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.integration)])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[CentralStore]:
    """A fresh store on each backend: SQLite in a temp directory, PostgreSQL in a database of its own."""
    s: CentralStore
    if request.param == "postgres":
        s = PostgresStore(request.getfixturevalue("postgres_url"))
    else:
        s = SqliteStore(tmp_path / "central.sqlite")
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
