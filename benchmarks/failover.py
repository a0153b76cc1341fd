"""Failover of the IOC cluster: kill -9 one NATS node and one central replica mid-stream.

3 nats-server nodes (JetStream, MQTT), 3 ``floodmesh central`` processes pulling one JetStream work
queue over one PostgreSQL database, 2 ward gateways (``broker_failover`` over the 3 nodes) with a
stream of readings and an SOS every ``SOS_EVERY_S`` from buttons that listen for their ACK. At
``KILL_AT_S`` the node of the first gateway and the first replica are killed -9 together.

Reported: ``lost``/``duplicated``/``unexpected`` (a total-queue check of every event sent against
every event central stored; all must be 0), ``sos_gap_s`` (in the ward worst hit, the longest time
without an SOS ACK after the kills) against ``baseline_gap_s`` (the same, between the warm-up and
the kills, same run), ``ratio_gap``, and the ACK latencies before and after. Progress goes to
stderr; the run takes about a minute and a half.
"""

import itertools
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg

from benchmarks.geolocate import postgis_cluster
from edge_nodes.fleet import ButtonSite, StationSite, build_fleet
from floodmesh.broker import settings_fields
from floodmesh.nats_cluster import NatsCluster, start_nats_cluster
from gateway.config import GatewaySettings
from gateway.radio.sim import Air, SimRadioLink
from gateway.service import GatewayService
from protocol import frames
from protocol.registry import NodeRecord, NodeRegistry

WARDS = ("19813", "19774")
REPLICAS = 3
READINGS_PER_S = 100
SOS_EVERY_S = 0.5
WARM_UP_S = 10.0  # readings and SOS flow this long before the baseline is measured (queues reach a steady state)
STREAM_S = 40.0
KILL_AT_S = 25.0
DRAIN_TIMEOUT_S = 120.0
RETRY_S = 5.0  # the gateways' resend timer: what a replica took and never committed comes back after it

EventId = tuple[int, int, int]


def _say(text: str) -> None:
    print(f"failover: {text}", file=sys.stderr, flush=True)


@dataclass
class AckLog:
    """When each SOS was pressed and when its ACK reached the button."""

    pressed: dict[EventId, float] = field(default_factory=dict)
    acked: dict[EventId, float] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def listener(self, button: NodeRecord) -> Any:
        """An Air listener for ``button``: records the first ACK of each of its SOS."""
        def heard(_from_id: int, raw: bytes) -> None:
            try:
                frame = frames.decode(raw, button.key)
            except frames.FrameError:
                return
            if isinstance(frame.payload, frames.Ack):
                key = (button.node_id, frame.payload.sos_boot, frame.payload.sos_seq)
                with self.lock:
                    self.acked.setdefault(key, time.monotonic())
        return heard


def _fleet() -> NodeRegistry:
    """Ten sensors at a station and four buttons in each ward (one registry: node ids are unique)."""
    stations = [StationSite(station, ward, 16.41667, 107.5667) for station, ward in zip(("kim_long", "phu_oc"), WARDS,
                                                                                        strict=True)]
    return build_fleet(stations, [ButtonSite(ward) for ward in WARDS for _ in range(4)], sensors_per_station=10,
                       demo_secret=b"failover")


def _replica(n: int, cluster: NatsCluster, db_url: str, work: Path) -> subprocess.Popen[bytes]:
    argv = [sys.executable, "-m", "floodmesh", "central", "--database-url", db_url, "--db", str(work / f"c{n}.db"),
            "--registry", str(work / "nodes.json"), "--allow-demo-registry", "--api-port", "0",
            "--client-id", f"central-{n}", "--nats-servers", cluster.nats_servers(),
            *cli_args_for_central(cluster, n)]
    with (work / f"central-{n}.log").open("wb") as log:
        return subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT)


def cli_args_for_central(cluster: NatsCluster, node: int) -> list[str]:
    """``floodmesh central`` flags reaching node ``node``'s MQTT listener as central."""
    endpoint = cluster.endpoint_for_central(node)
    secret = cluster.directory / "secrets" / "central.password"
    return ["--broker", f"{endpoint.host}:{endpoint.port}", "--mqtt-username", "central",
            "--mqtt-password-file", str(secret), "--mqtt-ca", str(cluster.ca_file)]


def _stored(db_url: str) -> list[EventId]:
    with psycopg.connect(db_url) as conn:
        return [(int(a), int(b), int(c)) for a, b, c in conn.execute("SELECT node_id, boot_epoch, seq FROM events")]


def _duplicated(db_url: str) -> int:
    with psycopg.connect(db_url) as conn:
        row = conn.execute(
            "SELECT (SELECT count(*) - count(DISTINCT (node_id, boot_epoch, seq)) FROM readings)"
            " + (SELECT count(*) - count(DISTINCT (node_id, boot_epoch, seq)) FROM cases)").fetchone()
    return int(row[0]) if row else 0


def total_queue_check(sent: set[EventId], stored: Sequence[EventId], duplicated: int) -> dict[str, int]:
    """Every event sent is stored once, nothing else is: lost, duplicated, unexpected (all 0 when clean)."""
    seen = set(stored)
    return {"lost": len(sent - seen), "duplicated": duplicated + len(stored) - len(seen),
            "unexpected": len(seen - sent)}


def _gaps(acks: Sequence[float], start: float, end: float) -> float:
    """The longest time between ``start``, the ACKs in between, and ``end``."""
    edges = [start, *sorted(t for t in acks if start <= t <= end), end]
    return max(b - a for a, b in itertools.pairwise(edges))


def _quantile(values: Sequence[float], q: float) -> float | None:
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 3) if ordered else None


class _Stream:
    """Readings and SOS from every ward's nodes into its gateway's air, at the configured rates."""

    def __init__(self, airs: dict[str, Air], fleets: dict[str, NodeRegistry], acks: AckLog) -> None:
        self.airs, self.fleets, self.acks = airs, fleets, acks
        self.sent: set[EventId] = set()
        self._seq: dict[int, int] = {}

    def _next(self, node_id: int) -> int:
        self._seq[node_id] = self._seq.get(node_id, 0) + 1
        return self._seq[node_id]

    def tick(self, n_readings: int, sos: bool, now_ts: int) -> None:
        for i in range(n_readings):
            ward = WARDS[i % len(WARDS)]
            sensors = [r for r in self.fleets[ward] if r.kind == "water_level"]
            rec = sensors[(i // len(WARDS)) % len(sensors)]
            frame = frames.Frame(rec.node_id, 1, self._next(rec.node_id), now_ts, frames.WaterLevel(6000, 80))
            self.airs[ward].transmit(rec.node_id, frames.encode(frame, rec.key))
            self.sent.add(frame.event_id)
        if sos:
            ward = WARDS[len(self.acks.pressed) % len(WARDS)]
            buttons = [r for r in self.fleets[ward] if r.kind == "sos_button"]
            button = buttons[len(self.acks.pressed) // len(WARDS) % len(buttons)]
            frame = frames.Frame(button.node_id, 1, self._next(button.node_id), now_ts, frames.Sos(2, 3))
            with self.acks.lock:
                self.acks.pressed[frame.event_id] = time.monotonic()
            self.airs[ward].transmit(button.node_id, frames.encode(frame, button.key))
            self.sent.add(frame.event_id)


def run() -> dict[str, object]:
    """The failover benchmark (one JSON-able dict)."""
    with tempfile.TemporaryDirectory(prefix="floodmesh-failover-") as tmp, postgis_cluster() as admin:
        work = Path(tmp)
        db_url = f"postgresql://postgres@127.0.0.1:{admin.info.port}/postgres"
        fleet = _fleet()
        fleet.save(work / "nodes.json")
        fleets = {ward: NodeRegistry([r for r in fleet if r.ward == ward]) for ward in WARDS}
        _say("starting 3 NATS nodes")
        cluster = start_nats_cluster(work / "nats", gateways=[(w, f"gw-{w}") for w in WARDS])
        replicas: list[subprocess.Popen[bytes]] = []
        gateways: list[GatewayService] = []
        try:
            replicas = [_replica(n, cluster, db_url, work) for n in range(REPLICAS)]
            acks = AckLog()
            airs = {ward: Air() for ward in WARDS}
            for ward in WARDS:
                for button in (r for r in fleets[ward] if r.kind == "sos_button"):
                    airs[ward].attach(button.node_id, acks.listener(button))
            for index, ward in enumerate(WARDS):
                endpoints = cluster.endpoints_for(f"gw-{ward}")
                order = endpoints[index:] + endpoints[:index]  # gateway i starts on node i
                settings = GatewaySettings(ward=ward, gateway_id=f"gw-{ward}", outbox_path=work / f"outbox-{ward}.db",
                                           **settings_fields(order[0]), retry_s=RETRY_S,
                                           broker_failover=",".join(f"{e.host}:{e.port}" for e in order[1:]))
                gateways.append(GatewayService(settings, SimRadioLink(airs[ward], 0x0F000000 + index), fleets[ward]))
                gateways[-1].start()
            _say(f"{REPLICAS} central replicas and {len(WARDS)} gateways starting; stream of {STREAM_S:.0f} s")
            result = _stream_and_kill(cluster, replicas, gateways, airs, fleets, acks, db_url)
        finally:
            for gateway in gateways:
                gateway.stop()
            for process in replicas:
                if process.poll() is None:
                    process.terminate()
            for process in replicas:
                process.wait(15)
            cluster.stop()
    return result


def _stream_and_kill(
    cluster: NatsCluster, replicas: list[subprocess.Popen[bytes]], gateways: list[GatewayService],
    airs: dict[str, Air], fleets: dict[str, NodeRegistry], acks: AckLog, db_url: str,
) -> dict[str, object]:
    stream = _Stream(airs, fleets, acks)
    _wait_ready(acks, stream)
    start = time.monotonic()
    killed_at: float | None = None
    next_sos = start
    tick = 0.1
    while (now := time.monotonic()) - start < STREAM_S:
        if killed_at is None and now - start >= KILL_AT_S:
            cluster.kill(0)
            replicas[0].kill()
            killed_at = time.monotonic()
            _say(f"killed NATS node n1 and central-0 at {now - start:.1f} s")
        sos = now >= next_sos
        next_sos += SOS_EVERY_S if sos else 0
        stream.tick(int(READINGS_PER_S * tick), sos, int(time.time()))
        time.sleep(tick)
    _say(f"stream over: {len(stream.sent)} events sent; waiting for every one at central")
    deadline = time.monotonic() + DRAIN_TIMEOUT_S
    while time.monotonic() < deadline and len(_stored(db_url)) < len(stream.sent):
        time.sleep(1.0)
    check = total_queue_check(stream.sent, _stored(db_url), _duplicated(db_url))
    end = start + STREAM_S
    if killed_at is None:
        raise RuntimeError("the stream ended before the kills: KILL_AT_S must be below STREAM_S")
    ward_of = {r.node_id: ward for ward in WARDS for r in fleets[ward]}
    with acks.lock:
        ack_times = {ward: [t for k, t in acks.acked.items() if ward_of[k[0]] == ward] for ward in WARDS}
        latency_before = [acks.acked[k] - t for k, t in acks.pressed.items()
                          if k in acks.acked and start + WARM_UP_S <= t < killed_at]
        timeline = sorted((round(t - start, 2), round(acks.acked.get(k, float("nan")) - t, 2))
                          for k, t in acks.pressed.items())
        latency_after = [acks.acked[k] - t for k, t in acks.pressed.items() if k in acks.acked and t >= killed_at]
    _say("SOS (pressed at s, ACK after s): " + " ".join(f"{p}:{a}" for p, a in timeline))
    gap = max(_gaps(ack_times[ward], killed_at, end) for ward in WARDS)
    baseline = max(_gaps(ack_times[ward], start + WARM_UP_S, killed_at) for ward in WARDS)
    return {"name": "failover", **check, "events": len(stream.sent), "sos": len(acks.pressed),
            "sos_acked": len(acks.acked), "sos_gap_s": round(gap, 2), "baseline_gap_s": round(baseline, 2),
            "ratio_gap": round(gap / baseline, 1) if baseline else None,
            "ack_p50_before_s": _quantile(latency_before, 0.5), "ack_p99_before_s": _quantile(latency_before, 0.99),
            "ack_p50_after_s": _quantile(latency_after, 0.5), "ack_max_after_s": _quantile(latency_after, 1.0),
            "gateway_switches": sum(int(str(g.stats()["broker_switches"])) for g in gateways),
            "nats_nodes": 3, "replicas": REPLICAS, "killed": ["nats n1", "central-0"]}


def _wait_ready(acks: AckLog, stream: _Stream) -> None:
    """Press SOS until one is acknowledged: the replicas, the queue and the gateways are all up."""
    deadline = time.monotonic() + 90
    while not acks.acked:
        if time.monotonic() > deadline:
            raise RuntimeError("no SOS acknowledged in 90 s: see the central-*.log files of the run")
        stream.tick(0, True, int(time.time()))
        time.sleep(1.0)
    _say("first SOS acknowledged: the cluster is up")
