"""Draining a gateway's outbox after a long outage, against the raw broker rate in the same run.

An outage of ``n`` readings (default 1,000,000) is written into the gateway's outbox as the radio
would have (verified frames, one transaction per batch); then the gateway starts as its own process
(`floodmesh gateway` on a simulated Meshtastic radio) with central as another, and the clock runs
until central has acknowledged every reading and the outbox is empty. ``ratio`` is that drain rate
over ``mosquitto_pub --repeat`` -> ``mosquitto_sub`` on the same envelopes and broker (best of three runs
of up to 200,000 messages).
``peak_rss_mb`` is the gateway process's VmHWM. The readings pass central's quality control, so the
flood rules run on each (``qc_passed``, ``rules_evaluated``: must equal ``readings``).
"""

import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from benchmarks.readings import station_sites
from benchmarks.telemetry_throughput import (
    _broker_rate,
    _central_stats,
    _readings,
    _start_central,
    _stored,
    _wait,
    rules_work,
)
from edge_nodes.fleet import build_fleet
from floodmesh.broker import RunningBroker, start_broker
from gateway.outbox import InboundFrame, Outbox
from protocol import frames
from protocol.envelopes import Uplink
from protocol.registry import NodeRegistry
from simulations.meshtastic_radio import SimulatedMeshtasticRadio

WARD = "19813"
GATEWAY = f"gw-{WARD}"
BASELINE_MAX = 200_000
SENSORS = 200  # 200 sensors x 65,536 sequence numbers: room for a million distinct readings, over the stations


def _fill_outbox(path: Path, registry: NodeRegistry, n: int) -> None:
    box = Outbox(path)
    now = datetime.now(UTC).isoformat()
    batch: list[InboundFrame] = []
    for node_id, data in _readings(registry, n):
        batch.append(InboundFrame(node_id, "water_level", data, now, -97, 6.5))
        if len(batch) == 20_000:
            box.add(batch)
            batch.clear()
    if batch:
        box.add(batch)
    box.close()


def _outbox_count(path: Path) -> int:
    with sqlite3.connect(path) as db:
        return int(db.execute("SELECT COUNT(*) FROM outbox").fetchone()[0])


def _peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _drain_rate(
    broker: RunningBroker, workdir: Path, registry: NodeRegistry, n: int
) -> tuple[float, float, dict[str, int]]:
    outbox = workdir / "outbox.db"
    _fill_outbox(outbox, registry, n)
    central = _start_central(broker, workdir)
    radio = SimulatedMeshtasticRadio(0x0F000001)
    broker.add_gateway(WARD, GATEWAY)
    cmd = [sys.executable, "-m", "floodmesh", "gateway", "--ward", WARD, "--gateway", GATEWAY,
           *broker.cli_args(GATEWAY), "--radio", f"tcp:{radio.host}:{radio.port}",
           "--registry", str(workdir / "nodes.json"), "--outbox", str(outbox)]
    t0 = time.perf_counter()
    gateway = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
    try:
        # Polled twice a second: counting a million rows is work the measured central must not do often.
        _wait(lambda: _stored(central.api) >= n, 3600, poll_s=0.5)
        _wait(lambda: _outbox_count(outbox) == 0, 600, poll_s=0.1)
        elapsed = time.perf_counter() - t0
        rss = _peak_rss_mb(gateway.pid)
        work = rules_work(_central_stats(central.api), n)
    finally:
        gateway.terminate()
        gateway.wait(timeout=60)
        central.stop()
        radio.close()
    return n / elapsed, rss, work


def run(n: int | None = None) -> dict[str, object]:
    """Measure the raw broker rate and the outbox drain rate on one Mosquitto."""
    n = n or int(os.environ.get("FLOODMESH_BENCH_OUTAGE", "1000000"))
    workdir = Path(tempfile.mkdtemp(prefix="floodmesh-replay-"))
    broker = start_broker(workdir / "broker", prefer="mosquitto")
    try:
        sites = station_sites(WARD)
        # real keys: the CLI refuses demo ones
        registry = build_fleet(sites, [], sensors_per_station=SENSORS // len(sites))
        registry.save(workdir / "nodes.json")
        sample = Uplink(msg_id=1, gateway=GATEWAY, ward=WARD, received_at=datetime.now(UTC), rssi=-97, snr=6.5,
                        frame=frames.encode(frames.Frame(1, 1, 1, 1, frames.WaterLevel(1, 1)), b"k" * 16).hex())
        # Best of three runs of up to 200,000 messages: three of a million would add minutes, not accuracy.
        raw = _broker_rate(broker, min(n, BASELINE_MAX), sample.model_dump_json())
        drained, rss, work = _drain_rate(broker, workdir, registry, n)
    finally:
        broker.stop()
        shutil.rmtree(workdir, ignore_errors=True)
    return {
        "name": "outbox_replay",
        "readings": n,
        "drain_per_s": round(drained, 1),
        "broker_msgs_per_s": round(raw, 1),
        "ratio": round(drained / raw, 4),
        "peak_rss_mb": round(rss, 1),
        **work,
        "broker": broker.kind,
    }
