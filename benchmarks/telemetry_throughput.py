"""Readings per second through gateway -> Mosquitto -> central -> store, against the raw broker.

The baseline is the broker alone, measured in the same run: ``mosquitto_pub --repeat`` sending the
same uplink envelopes at QoS 1 to a ``mosquitto_sub`` that counts them, the best of three runs (so
a slow baseline run never flatters the ratio). ``ratio`` says what share
of the broker's own rate the whole pipeline keeps (verification, durable outbox, validation,
dedupe, SQLite commit and the end-to-end acknowledgement included). The readings pass central's
quality control (``benchmarks/readings.py``), so the flood rules run on every one: ``qc_passed`` and
``rules_evaluated`` (from central's /api/stats) must equal ``readings``, or the run fails.

Both are measured on the secured broker (TLS, one password per identity, ACL), as deployed; the
pipeline is measured again on an anonymous plaintext broker, and ``ratio_tls`` says what share of
that rate the secured transport keeps. The pipeline runs alternate (plain, secure, plain, secure,
half the readings each) so neither pays the machine's warm-up alone.
"""

import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from benchmarks.readings import qc_passing_readings, station_sites
from edge_nodes.fleet import build_fleet
from floodmesh.broker import RunningBroker, free_port, settings_fields, start_broker
from gateway.radio.sim import Air, SimRadioLink
from gateway.service import GatewayService, GatewaySettings
from protocol import frames, topics
from protocol.envelopes import Uplink
from protocol.mqtt_endpoint import MqttEndpoint
from protocol.registry import NodeRegistry

WARD = "19813"
SENSORS = 50  # spread over central's stations


def _readings(registry: NodeRegistry, n: int) -> list[tuple[int, bytes]]:
    return [(r.node_id, r.frame) for r in qc_passing_readings(registry, n)]


def _pipeline_rate(broker: RunningBroker, workdir: Path, n: int) -> tuple[float, dict[str, Any]]:
    sites = station_sites(WARD)
    # real keys: the CLI refuses demo ones
    registry = build_fleet(sites, [], sensors_per_station=SENSORS // len(sites))
    registry.save(workdir / "nodes.json")
    central = _start_central(broker, workdir)
    air = Air()
    identity = settings_fields(broker.add_gateway(WARD, f"gw-{WARD}"))
    gw = GatewayService(GatewaySettings(ward=WARD, gateway_id=f"gw-{WARD}", outbox_path=workdir / "outbox.db",
                                        **identity), SimRadioLink(air, 1), registry)
    gw.start()
    try:
        _wait(lambda: gw.stats()["connected"] is True, 30)
        readings = _readings(registry, n)
        t0 = time.perf_counter()
        for node_id, data in readings:
            air.transmit(node_id, data)
        _wait(lambda: _stored(central.api) >= n, 600)
        rate = n / (time.perf_counter() - t0)
        return rate, _central_stats(central.api)
    finally:
        gw.stop()
        central.stop()


class _CentralProcess:
    """Central as its own process (as deployed: the IOC server, not the ward's Pi)."""

    def __init__(self, process: subprocess.Popen[bytes], api: str) -> None:
        self.process = process
        self.api = api

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)


def _start_central(broker: RunningBroker, workdir: Path) -> _CentralProcess:
    port = free_port()
    cmd = [sys.executable, "-m", "floodmesh", "central", *broker.cli_args("central"),
           "--db", str(workdir / "central.db"), "--registry", str(workdir / "nodes.json"), "--port", str(port)]
    process = subprocess.Popen(cmd, stdin=subprocess.DEVNULL)
    central = _CentralProcess(process, f"http://127.0.0.1:{port}")
    try:
        _wait(lambda: _healthy(central.api), 60)
    except TimeoutError:
        central.stop()
        raise
    return central


def _healthy(api: str) -> bool:
    try:
        return bool(httpx.get(f"{api}/healthz", timeout=2).json().get("mqtt_connected"))
    except httpx.HTTPError:
        return False


def _stored(api: str) -> int:
    return int(httpx.get(f"{api}/api/stats", timeout=10).json()["readings_stored"])


def _central_stats(api: str) -> dict[str, Any]:
    stats: dict[str, Any] = httpx.get(f"{api}/api/stats", timeout=10).json()
    return stats


def rules_work(stats: dict[str, Any], n: int) -> dict[str, int]:
    """How many readings passed QC and ran the flood rules; refuses a run where some did not."""
    flagged = sum(int(v) for v in stats["flagged_by_reason"].values())
    work = {"qc_passed": int(stats["readings_stored"]) - flagged, "rules_evaluated": int(stats["rules_evaluated"])}
    if work != {"qc_passed": n, "rules_evaluated": n}:
        raise RuntimeError(f"of {n} readings sent, {work} (flagged {stats['flagged_by_reason']}): the figures would "
                           "skip the flood rules; fix benchmarks/readings.py so every reading passes QC")
    return work


BASELINE_RUNS = 3


def _broker_rate(broker: RunningBroker, n: int, payload: str, runs: int = BASELINE_RUNS) -> float:
    """The broker's own rate for ``n`` messages: the best of ``runs`` runs, so a ratio over it never flatters."""
    return max(_one_broker_rate(broker, n, payload) for _ in range(runs))


def _one_broker_rate(broker: RunningBroker, n: int, payload: str) -> float:
    pub, sub = shutil.which("mosquitto_pub"), shutil.which("mosquitto_sub")
    if not pub or not sub:
        raise RuntimeError("mosquitto_pub/mosquitto_sub not installed (apt-get install mosquitto-clients)")
    topic = topics.uplink(WARD, "gw-baseline", "water_level")
    common = ["-h", broker.host, "-p", str(broker.port), "-t", topic, "-q", "1"]
    consumer = subprocess.Popen([sub, *common, *_identity(broker.endpoint_for_central()), "-C", str(n)],
                                stdout=subprocess.DEVNULL)
    time.sleep(0.5)  # let the subscription land before the first publish
    t0 = time.perf_counter()
    subprocess.run([pub, *common, *_identity(broker.add_gateway(WARD, "gw-baseline")), "--repeat", str(n),
                    "-m", payload], check=True)
    consumer.wait(timeout=600)
    return n / (time.perf_counter() - t0)


def _identity(endpoint: MqttEndpoint) -> list[str]:
    # -P puts the password in argv: acceptable only for this throwaway benchmark broker.
    if endpoint.insecure_plaintext or endpoint.ca_file is None:
        return []
    return ["--cafile", str(endpoint.ca_file), "-u", str(endpoint.username), "-P", str(endpoint.password)]


def _wait(predicate: Callable[[], bool], timeout_s: float, poll_s: float = 0.05) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(poll_s)
    raise TimeoutError("benchmark did not complete")


def run(n: int | None = None) -> dict[str, object]:
    """Measure the rates on a secured and on a plaintext Mosquitto and return the JSON-able result."""
    n = n or int(os.environ.get("FLOODMESH_BENCH_READINGS", "20000"))
    workdir = Path(tempfile.mkdtemp(prefix="floodmesh-bench-"))
    try:
        plain = start_broker(workdir / "plain" / "broker", prefer="mosquitto", insecure_plaintext=True)
        broker = start_broker(workdir / "secure" / "broker", prefer="mosquitto")
        try:
            sample = Uplink(msg_id=1, gateway="gw-baseline", ward=WARD, received_at=datetime.now(UTC), rssi=-90,
                            snr=7.5, frame=frames.encode(frames.Frame(1, 1, 1, 1, frames.WaterLevel(1, 1)),
                                                         b"k" * 16).hex())
            raw = _broker_rate(broker, n, sample.model_dump_json())
            half = n // 2
            timed: dict[str, list[float]] = {"plain": [], "secure": []}
            # Every run's central is checked in full; the figures reported are the secured runs' (``readings``).
            work = {"qc_passed": 0, "rules_evaluated": 0}
            for round_no in range(2):
                for name, which in (("plain", plain), ("secure", broker)):
                    rate, stats = _pipeline_rate(which, workdir / name / str(round_no), half)
                    for key, count in rules_work(stats, half).items():
                        work[key] += count if name == "secure" else 0
                    timed[name].append(half / rate)
            ours = 2 * half / sum(timed["secure"])
            ours_plain = 2 * half / sum(timed["plain"])
        finally:
            broker.stop()
            plain.stop()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return {
        "name": "telemetry_throughput",
        "readings": n,
        "readings_per_s": round(ours, 1),
        "broker_msgs_per_s": round(raw, 1),
        "ratio": round(ours / raw, 4),
        **work,
        "readings_per_s_plaintext": round(ours_plain, 1),
        "ratio_tls": round(ours / ours_plain, 4),
        "broker": broker.kind,
    }
