"""TelemetryStore backends: SQLite (embedded) and InfluxDB 2 line protocol, read back from a real VictoriaMetrics."""

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from central.geo.ward_locator import WardLocator
from central.ingest.processor import UplinkProcessor
from central.store.base import CentralStore
from central.store.influx import InfluxTelemetryStore, line
from central.store.telemetry import LevelPoint
from central.store.telemetry_sqlite import SqliteTelemetryStore
from central.store.telemetry_writer import TelemetryWriter
from central.telemetry import nov2023
from central.telemetry.stations import Station
from floodmesh.broker import free_port
from protocol.registry import NodeRegistry
from tests.central.central_testkit import SENSOR_ID
from tests.central.test_central_alerts import reading_uplink
from tests.central.victoria import export, victoria_metrics
from tests.mqtt_peer import wait_until

PEAK_T = int(nov2023.PEAK_AT.timestamp())


def point(level: float, t: int = PEAK_T, qc: int = 1) -> LevelPoint:
    return LevelPoint("kim_long", "Sông Hương", "19813", SENSOR_ID, t, level, round((8.0 - level) * 1000), 80, qc, 3)


@pytest.fixture
def vm(tmp_path: Path) -> Iterator[str]:
    """VictoriaMetrics on a free loopback port."""
    if shutil.which("victoria-metrics") is None:
        pytest.fail("victoria-metrics is not installed: the setup installs it (apt-get install victoria-metrics)")
    with victoria_metrics(tmp_path) as url:
        yield url


@pytest.mark.unit
def test_line_protocol_tags_fields_and_sensor_time() -> None:
    assert line(point(4.34)) == (
        "river_gauge,station=kim_long,river=Sông\\ Hương,ward=19813,node=0a000001 "
        f"level_m=4.34,distance_mm=3660i,battery_pct=80i,qc_flag=1i,alert_rank=3i {PEAK_T}"
    )
    missing = LevelPoint("a,b", "x=y", "1", 1, 5, None, 0, 0, 9, 0)
    assert line(missing) == "river_gauge,station=a\\,b,river=x\\=y,ward=1,node=00000001 " \
        "distance_mm=0i,battery_pct=0i,qc_flag=9i,alert_rank=0i 5"


@pytest.mark.unit
def test_sqlite_backend_overwrites_a_replayed_point(tmp_path: Path) -> None:
    store = SqliteTelemetryStore(tmp_path / "levels.sqlite")
    try:
        store.write([point(4.30), point(4.20, PEAK_T - 900)])
        store.write([point(4.34)])
        assert store.count("kim_long") == 2
    finally:
        store.close()


@pytest.mark.integration
def test_influx_backend_through_the_ingest(
    vm: str, registry: NodeRegistry, locator: WardLocator, stations: dict[str, Station], store: CentralStore
) -> None:
    telemetry = InfluxTelemetryStore(vm, bucket="floodmesh", batch_size=50)
    processor = UplinkProcessor(registry, locator, stations, store, telemetry=telemetry)
    series = nov2023.series()
    ups = [reading_uplink(i + 1, m, lv, stations["kim_long"].datum_m) for i, (m, lv) in enumerate(series)]
    for i in range(0, len(ups), 40):
        processor.process_batch(ups[i : i + 40])
    telemetry.write([point(4.34)])  # the crest again: replaces, does not add
    telemetry.close()
    by_name = {s["metric"]["__name__"]: s for s in export(vm, '{__name__=~"river_gauge_.*"}')}
    assert set(by_name) == {f"river_gauge_{f}" for f in ("level_m", "distance_mm", "battery_pct", "qc_flag",
                                                        "alert_rank")}
    level = by_name["river_gauge_level_m"]
    assert level["metric"] == {"__name__": "river_gauge_level_m", "station": "kim_long", "river": "Sông Hương",
                               "ward": "19813", "node": "0a000001"}
    timestamps = level["timestamps"]
    assert isinstance(timestamps, list)
    assert len(timestamps) == len(series)
    assert timestamps == sorted(int(m.timestamp()) * 1000 for m, _ in series)  # the sensor's time
    values = dict(zip(timestamps, level["values"], strict=True))
    assert values[PEAK_T * 1000] == 4.34
    assert max(by_name["river_gauge_alert_rank"]["values"]) == 3


@pytest.mark.integration
def test_influx_outage_is_retried_by_the_writer_until_the_server_is_back(tmp_path: Path) -> None:
    if shutil.which("victoria-metrics") is None:
        pytest.fail("victoria-metrics is not installed: the setup installs it (apt-get install victoria-metrics)")
    port = free_port()
    influx = InfluxTelemetryStore(f"http://127.0.0.1:{port}", bucket="floodmesh", timeout_ms=2000)
    with pytest.raises(Exception):  # noqa: B017, PT011 - urllib3's connection error: the store itself does not retry
        influx.write([point(3.9, PEAK_T - 2700)])
    writer = TelemetryWriter(influx, backoff_s=(0.05, 0.2))
    writer.write([point(4.0, PEAK_T - 1800), point(4.1, PEAK_T - 900)])  # nobody listens yet
    wait_until(lambda: writer.status().failed_writes >= 1)
    with victoria_metrics(tmp_path, port) as url:
        writer.write([point(4.34)])
        assert writer.wait_idle(30)
        (level,) = export(url, "river_gauge_level_m")
        assert level["values"] == [4.0, 4.1, 4.34]
    writer.close()
    assert writer.status().dropped == {}
