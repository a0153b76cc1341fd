"""Water-level readings per second through central's full ingest into each TelemetryStore backend.

Same Mosquitto, same run: first the broker alone, best of three (``mosquitto_pub``/``mosquitto_sub`` at QoS 1, as
in ``telemetry_throughput``), then for each backend the uplinks published at QoS 1 into central's
MQTT ingest (envelope validation, HMAC check, dedupe, QARTOD checks, flood rules, SQLite read model
commit, app acks) and on into the TelemetryStore: ``sqlite`` (embedded) and ``influx`` (line
protocol to VictoriaMetrics' InfluxDB v2 write API). ``ratio_*`` is each rate over the broker's.
``rules_us_per_reading`` is the pure cost of quality control plus flood rules for one reading.
"""

import dataclasses
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import httpx

from benchmarks.readings import qc_passing_readings, station_sites
from benchmarks.telemetry_throughput import _broker_rate, _identity, rules_work
from central.core.config import DATA_DIR
from central.geo.authorities import load_authorities
from central.geo.ward_locator import WardLocator
from central.ingest.mqtt_ingest import MqttIngest
from central.ingest.processor import UplinkProcessor
from central.store.influx import InfluxTelemetryStore
from central.store.sqlite import CentralStore
from central.store.telemetry import LevelPoint, TelemetryStore
from central.store.telemetry_sqlite import SqliteTelemetryStore
from central.telemetry import nov2023, quality
from central.telemetry.rules import FloodRules, StationState
from central.telemetry.stations import Station, load_stations
from edge_nodes.fleet import build_fleet
from floodmesh.broker import RunningBroker, free_port, start_broker
from protocol import topics
from protocol.envelopes import Uplink
from protocol.registry import NodeRegistry

WARD, GATEWAY = "19813", "gw-bench"
SENSORS = 50  # spread over central's stations


class _Counting:
    """A TelemetryStore wrapper that counts the points it has passed on."""

    def __init__(self, inner: TelemetryStore) -> None:
        self.inner, self.name, self.written = inner, inner.name, 0

    def write(self, points: Sequence[LevelPoint]) -> None:
        self.inner.write(points)
        self.written += len(points)

    def close(self) -> None:
        self.inner.close()


def _uplinks(registry: NodeRegistry, n: int) -> list[str]:
    """n envelopes (one JSON line each) of readings that pass QC, heard as they were taken."""
    return [
        Uplink(msg_id=i, gateway=GATEWAY, ward=WARD, received_at=r.at, frame=r.frame.hex()).model_dump_json()
        for i, r in enumerate(qc_passing_readings(registry, n), start=1)
    ]


def _ingest_rate(broker: RunningBroker, workdir: Path, lines: list[str], registry: NodeRegistry,
                 telemetry: TelemetryStore) -> tuple[float, dict[str, int]]:
    stations = load_stations(DATA_DIR / "stations.json")
    locator = WardLocator.from_geojson(DATA_DIR / "hue_wards.geojson", load_authorities(DATA_DIR / "authorities.csv"))
    store = CentralStore(workdir / f"central-{telemetry.name}.sqlite")
    counting = _Counting(telemetry)
    processor = UplinkProcessor(registry, locator, stations, store, telemetry=counting)
    ingest = MqttIngest(processor, broker.endpoint_for_central(), client_id=f"bench-{telemetry.name}")
    ingest.start()
    try:
        _wait(lambda: ingest.connected, 30)
        time.sleep(0.5)  # let the subscription land
        pub = shutil.which("mosquitto_pub") or "mosquitto_pub"
        t0 = time.perf_counter()
        subprocess.run([pub, "-h", broker.host, "-p", str(broker.port), *_identity(broker.add_gateway(WARD, GATEWAY)),
                        "-q", "1", "-t", topics.uplink(WARD, GATEWAY, "water_level"), "-l"],
                       input="\n".join(lines).encode(), check=True)
        _wait(lambda: counting.written >= len(lines), 600)
        rate = len(lines) / (time.perf_counter() - t0)
        return rate, rules_work(dataclasses.asdict(store.stats()), len(lines))
    finally:
        ingest.stop()
        counting.close()
        store.close()


@contextmanager
def _victoria(workdir: Path) -> Iterator[str]:
    exe = shutil.which("victoria-metrics")
    if exe is None:
        raise RuntimeError("victoria-metrics not installed (apt-get install victoria-metrics)")
    port = free_port()
    proc = subprocess.Popen([exe, f"-httpListenAddr=127.0.0.1:{port}", f"-storageDataPath={workdir / 'vm'}",
                             "-retentionPeriod=100y", "-loggerLevel=ERROR"], stdin=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait(lambda: _up(url), 30)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def _up(url: str) -> bool:
    try:
        return httpx.get(f"{url}/health", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def _wait(predicate: Callable[[], bool], timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError("benchmark did not complete")
        time.sleep(0.01)


def rules_us_per_reading(station: Station, rounds: int = 20) -> float:
    """QC plus flood rules on the Nov 2023 series, µs per reading (pure, no I/O)."""
    series = [(m.timestamp(), lv) for m, lv in nov2023.series()]
    lim = quality.limits_for(station.datum_m, station.record_m)
    rules = FloodRules()
    t0 = time.perf_counter()
    for _ in range(rounds):
        state, history = StationState(), tuple[quality.Sample, ...]()
        for t, level in series:
            sample = quality.Sample(t, level)
            if quality.assess(lim, history, sample, t).usable:
                state, _ = rules.evaluate(station, state, t, level)
            history = (*history, sample)[-32:]
    return (time.perf_counter() - t0) / (rounds * len(series)) * 1e6


def run(n: int | None = None) -> dict[str, object]:
    """Measure the broker, then the ingest into SQLite and into InfluxDB (VictoriaMetrics), in one run."""
    n = n or int(os.environ.get("FLOODMESH_BENCH_STORE_READINGS", "10000"))
    workdir = Path(tempfile.mkdtemp(prefix="floodmesh-bench-store-"))
    broker = start_broker(workdir / "broker", prefer="mosquitto")
    station = load_stations(DATA_DIR / "stations.json")["kim_long"]
    sites = station_sites(WARD)
    registry = build_fleet(sites, [], sensors_per_station=SENSORS // len(sites), demo_secret=b"bench")
    lines = _uplinks(registry, n)
    try:
        raw = _broker_rate(broker, n, lines[0])
        sqlite, work = _ingest_rate(broker, workdir, lines, registry, SqliteTelemetryStore(workdir / "levels.sqlite"))
        with _victoria(workdir) as url:
            influx, _ = _ingest_rate(broker, workdir, lines, registry, InfluxTelemetryStore(url, "floodmesh"))
    finally:
        broker.stop()
        shutil.rmtree(workdir, ignore_errors=True)
    return {
        "name": "telemetry_store",
        "readings": n,
        "broker_msgs_per_s": round(raw, 1),
        "sqlite_readings_per_s": round(sqlite, 1),
        "influx_readings_per_s": round(influx, 1),
        "ratio_sqlite": round(sqlite / raw, 4),
        "ratio_influx": round(influx / raw, 4),
        **work,
        "rules_us_per_reading": round(rules_us_per_reading(station), 2),
        "broker": broker.kind,
    }
