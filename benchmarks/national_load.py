"""Vietnam's flood telemetry and a surge of SOS through central replicas on PostgreSQL, compressed in time.

3,321 communes with ten sensors each, one reading a minute, make 553.5 readings/s for the whole
country; a flood hour brings ~700 SOS (Huế's IOC took about that many calls in three days of 2023).
This benchmark offers central a multiple of that: ``FLOODMESH_BENCH_NATIONAL_RATE`` readings/s (default
3,321: one per commune per second, 6x the national rate) for ``FLOODMESH_BENCH_NATIONAL_S`` seconds
(default 30), with the hour's 700 SOS spread over the same seconds (a surge 120x an hour's pace).

As deployed: Mosquitto with TLS, passwords and the ACL; ``FLOODMESH_BENCH_NATIONAL_REPLICAS`` (default
2) ``floodmesh central`` processes sharing the uplinks with an MQTT shared subscription over one
PostgreSQL database; central knows 3,321 commune stations and 33,210 sensors plus the 700 buttons (real
keys, real HMAC). Eight gateway identities publish single-frame uplinks at QoS 1, as live gateways do,
and take the ACK downlinks. Every reading passes QC and runs the flood rules.

Reported: ``readings_per_s`` sustained (all readings stored, over the time from the first publish
to the last stored), ``kept_up`` (whether that is the offered rate), ``behind_at_end_s`` (how long
central took to store the rest after the last publish; ~0.2 s, the polling, when it kept up), SOS
``sos_p50_ms``/``sos_p99_ms`` (gateway publish -> ACK downlink back at the gateway),
``replicas_used`` (replicas that spent at least a quarter of the busiest one's CPU time on the load;
``replica_cpu_s`` each), ``replicas_answering_sos`` (told apart by the boot epoch of their ACK
frames). Baselines in the same run, best of three: the broker's own QoS 1 rate (``ratio``) and its
round trip p99 (``ratio_sos_p99``). ``national_x`` is the sustained rate over the national 553.5/s. It also writes
``benchmarks/national_load.png``: readings stored against offered over time, and each SOS's latency.
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import psycopg
from paho.mqtt.enums import CallbackAPIVersion
from pydantic import ValidationError

from benchmarks.broker_rtt import broker_round_trips
from benchmarks.geolocate import postgis_cluster
from benchmarks.plots import plot_national_load
from benchmarks.processes import wait_for
from benchmarks.readings import BenchReading, central_stations, qc_passing_readings
from benchmarks.telemetry_throughput import _broker_rate, _healthy
from central.core.config import DATA_DIR
from central.telemetry.stations import Station, load_stations
from edge_nodes.fleet import ButtonSite, StationSite, build_fleet
from floodmesh.broker import RunningBroker, free_port, start_broker
from protocol import frames, topics
from protocol.envelopes import Downlink, Uplink
from protocol.mqtt_endpoint import MqttEndpoint
from protocol.registry import NodeRecord

COMMUNES = 3321
SENSORS_PER_COMMUNE = 10
NATIONAL_READINGS_PER_S = COMMUNES * SENSORS_PER_COMMUNE / 60  # 553.5
SOS_PER_HOUR = 700
GATEWAYS = 8
WARM_UP_BUTTONS = 40
PLOT = Path(__file__).with_name("national_load.png")


def _say(text: str) -> None:
    print(f"national_load: {text}", file=sys.stderr, flush=True)


def _wards(n: int) -> list[str]:
    doc = json.loads((DATA_DIR / "hue_wards.geojson").read_text(encoding="utf-8"))
    return [str(f["properties"]["code"]) for f in doc["features"]][:n]


def _communes(wards: list[str]) -> list[dict[str, Any]]:
    """A gauge station per commune, shaped like Kim Long's (its levels and datum), in the benchmark's wards."""
    model = next(iter(central_stations().values()))
    return [{"id": f"commune-{i:04d}", "name": f"Commune {i}", "river": model.river,
             "lat": model.lat + (i % 60) * 0.01, "lon": model.lon + (i // 60) * 0.01, "ward": wards[i % len(wards)],
             "alert_levels_m": dict(model.alert_levels_m), "datum_m": model.datum_m, "record_m": model.record_m,
             "affected_wards": [wards[i % len(wards)]]} for i in range(COMMUNES)]


@dataclass
class _SosLog:
    """When each SOS was published and when its ACK came back; which replica (boot epoch) answered."""

    keys: dict[int, bytes]
    sent: dict[int, float] = field(default_factory=dict)
    acked: dict[int, float] = field(default_factory=dict)
    epochs: dict[int, int] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def heard(self, payload: bytes) -> None:
        """A downlink on a gateway's down/ topic (paho's thread: decode and record only)."""
        now = time.perf_counter()
        try:
            down = Downlink.model_validate_json(payload)
        except ValidationError:
            return  # a text for officers' radios: not an ACK
        key = self.keys.get(down.node_id)
        if key is None:
            return
        frame = frames.decode(bytes.fromhex(down.frame), key)
        if isinstance(frame.payload, frames.Ack):
            with self.lock:
                self.acked.setdefault(down.node_id, now)
                self.epochs.setdefault(down.node_id, frame.boot_epoch)


def _gateway_client(endpoint: MqttEndpoint, ward: str, gateway: str, sos: _SosLog) -> mqtt.Client:
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"bench-{gateway}")
    endpoint.configure(client)
    client.max_inflight_messages_set(0)  # as the gateways' publisher: no cap of 20 messages in flight
    client.max_queued_messages_set(0)
    ready = threading.Event()
    client.on_connect = lambda c, *_: c.subscribe(topics.downlink_filter(ward, gateway), qos=1)
    client.on_subscribe = lambda *_: ready.set()
    client.on_message = lambda _c, _u, msg: sos.heard(bytes(msg.payload))
    client.connect(endpoint.host, endpoint.port)
    client.loop_start()
    if not ready.wait(30):
        raise TimeoutError(f"national_load: gateway {gateway} could not subscribe; see the broker's log")
    return client


def _replica(n: int, broker: RunningBroker, work: Path, db_url: str) -> subprocess.Popen[bytes]:
    port = free_port()
    argv = [sys.executable, "-m", "floodmesh", "central", *broker.cli_args("central"), "--db", str(work / f"c{n}.db"),
            "--database-url", db_url, "--registry", str(work / "nodes.json"), "--stations-path",
            str(work / "stations.json"), "--port", str(port), "--client-id", f"central-{n}",
            "--shared-subscription", "central"]
    with (work / f"central-{n}.log").open("wb") as log:
        process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
    wait_for(lambda: process.poll() is None and _healthy(f"http://127.0.0.1:{port}"), 120,
             f"central-{n} to start (see central-{n}.log in the run's directory)", poll_s=0.2)
    return process


def _sos_uplink(button: NodeRecord, ward: str, gateway: str, msg_id: int) -> tuple[str, bytes]:
    frame = frames.Frame(button.node_id, 1, 1, int(time.time()), frames.Sos(2, 3))
    env = Uplink(msg_id=msg_id, gateway=gateway, ward=ward, received_at=datetime.now(UTC), frame=frames.encode(frame,
                 button.key).hex())
    return topics.uplink(ward, gateway, "sos"), env.model_dump_json().encode()


def quantile(values: Sequence[float], q: float) -> float:
    """The ``q`` quantile (nearest rank) of a non-empty sample."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _cpu_s(pid: int) -> float:
    """CPU seconds (user + system) a process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class _Progress:
    """Samples how many readings central has stored, twice a second, on a thread of its own."""

    def __init__(self, db_url: str) -> None:
        self._db_url = db_url
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="national-load-progress", daemon=True)
        self.samples: list[tuple[float, int]] = []  # (perf_counter, readings stored)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=10)

    def _run(self) -> None:
        while not self._stop.wait(0.5):
            try:
                self.samples.append((time.perf_counter(), _stored(self._db_url)[0]))
            except psycopg.Error:
                return  # the run is over (or failing): the plot shows what was sampled


def _stored(db_url: str) -> tuple[int, int, int]:
    with psycopg.connect(db_url) as conn:
        row = conn.execute("SELECT (SELECT count(*) FROM readings), (SELECT coalesce(sum(value), 0) FROM counters "
                           "WHERE name = 'rules_evaluated'), (SELECT count(*) FROM readings WHERE qc_flag <> 1)"
                           ).fetchone()
    return (int(row[0]), int(row[1]), int(row[2])) if row else (0, 0, 0)


def run(seconds: float | None = None, rate: float | None = None, replicas: int | None = None,
        sos_count: int = SOS_PER_HOUR, plot: Path | None = PLOT) -> dict[str, object]:
    """The national_load benchmark (one JSON-able dict)."""
    seconds = seconds or float(os.environ.get("FLOODMESH_BENCH_NATIONAL_S", "30"))
    rate = rate or float(os.environ.get("FLOODMESH_BENCH_NATIONAL_RATE", str(COMMUNES)))
    replicas = replicas or int(os.environ.get("FLOODMESH_BENCH_NATIONAL_REPLICAS", "2"))
    work = Path(tempfile.mkdtemp(prefix="floodmesh-national-"))
    try:
        with postgis_cluster() as admin:
            db_url = f"postgresql://postgres@127.0.0.1:{admin.info.port}/postgres"
            result = _run(work, db_url, seconds, rate, replicas, sos_count, plot)
    except BaseException:
        _say(f"failed: the replicas' logs are kept in {work} (central-*.log); delete it when done")
        raise
    shutil.rmtree(work, ignore_errors=True)
    return result


def _run(
    work: Path, db_url: str, seconds: float, rate: float, replicas: int, sos_count: int, plot: Path | None
) -> dict[str, object]:
    wards = _wards(GATEWAYS)
    (work / "stations.json").write_text(json.dumps({"about": "national_load benchmark", "stations": _communes(wards)}))
    stations: dict[str, Station] = load_stations(work / "stations.json")
    sites = [StationSite(st.id, st.ward, st.lat, st.lon) for st in stations.values()]
    buttons = [ButtonSite(wards[i % len(wards)]) for i in range(sos_count + WARM_UP_BUTTONS)]
    _say(f"{COMMUNES} communes x {SENSORS_PER_COMMUNE} sensors and {len(buttons)} buttons: making keys and frames")
    registry = build_fleet(sites, buttons, sensors_per_station=SENSORS_PER_COMMUNE)
    registry.save(work / "nodes.json")
    n = int(rate * seconds)
    gw_of = [(wards[i], f"gw-{wards[i]}") for i in range(GATEWAYS)]
    lines = _uplink_lines(qc_passing_readings(registry, n, stations=stations), gw_of)
    all_buttons = [r for r in registry if r.kind == "sos_button"]
    sos = _SosLog({b.node_id: b.key for b in all_buttons})
    broker = start_broker(work / "broker", prefer="mosquitto")
    processes: list[subprocess.Popen[bytes]] = []
    clients: list[mqtt.Client] = []
    sampler = _Progress(db_url)
    try:
        _say("baselines: the broker's QoS 1 rate and round trip, best of three")
        broker_rate = _broker_rate(broker, 20_000, lines[0][1].decode())
        rtt_p99 = min(quantile(broker_round_trips(broker, wards[0], 200), 0.99) for _ in range(3))
        clients = [_gateway_client(broker.add_gateway(w, g), w, g, sos) for w, g in gw_of]
        _say(f"starting {replicas} central replicas on PostgreSQL")
        processes = [_replica(i, broker, work, db_url) for i in range(replicas)]
        _warm_up(clients, gw_of, all_buttons[sos_count:], sos, replicas)
        for b in all_buttons[sos_count:]:  # the warm-up's SOS are not part of the figures
            for log in (sos.sent, sos.acked, sos.epochs):
                log.pop(b.node_id, None)
        cpu_before = [_cpu_s(p.pid) for p in processes]
        _say(f"offering {rate:.0f} readings/s and {sos_count} SOS for {seconds:.0f} s")
        sampler.start()
        t0 = _offer(clients, gw_of, lines, all_buttons[:sos_count], sos, rate, seconds)
        offered_until = time.perf_counter()
        deadline = time.perf_counter() + max(300.0, 10 * seconds)
        while (stored := _stored(db_url))[0] < n or len(sos.acked) < sos_count:
            if time.perf_counter() > deadline:
                raise TimeoutError(f"national_load: {stored[0]} of {n} readings stored, {len(sos.acked)} of "
                                   f"{sos_count} SOS acknowledged after the run; see central-*.log")
            time.sleep(0.2)
        done = time.perf_counter()
        cpu = [round(_cpu_s(p.pid) - before, 2) for p, before in zip(processes, cpu_before, strict=True)]
        elapsed, behind_s = done - t0, done - offered_until
        stored = _stored(db_url)
    finally:
        sampler.stop()
        for client in clients:
            client.disconnect()
            client.loop_stop()
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(timeout=30)
        broker.stop()
    if plot is not None:
        progress = [(t - t0, count) for t, count in sampler.samples if t >= t0] + [(elapsed, stored[0])]
        sos_at = [(sos.sent[k] - t0, (sos.acked[k] - sos.sent[k]) * 1000) for k in sos.sent if k in sos.acked]
        plot_national_load(progress, [(0.0, 0), (n / rate, n)], sos_at, plot)
    sustained = n / elapsed
    return {
        "name": "national_load", "communes": COMMUNES, "sensors": COMMUNES * SENSORS_PER_COMMUNE,
        "national_readings_per_s": NATIONAL_READINGS_PER_S, "offered_readings_per_s": round(rate, 1),
        "seconds": seconds, "readings": n, "readings_per_s": round(sustained, 1),
        "kept_up": sustained >= 0.95 * rate, "behind_at_end_s": round(behind_s, 2),
        "national_x": round(sustained / NATIONAL_READINGS_PER_S, 2),
        "qc_passed": stored[0] - stored[2], "rules_evaluated": stored[1],
        **_sos_figures(sos, rtt_p99), "replicas": replicas,
        "replica_cpu_s": cpu, "replicas_used": sum(c >= 0.25 * max(cpu) for c in cpu),
        "broker_msgs_per_s": round(broker_rate, 1), "ratio": round(sustained / broker_rate, 4),
        "machine_load_1m": round(os.getloadavg()[0], 2), "broker": broker.kind,
    }


def _uplink_lines(readings: list[BenchReading], gw_of: list[tuple[str, str]]) -> list[tuple[str, bytes]]:
    """(topic, envelope) of each reading, the gateways taking turns, as each would publish it."""
    out = []
    for i, r in enumerate(readings):
        ward, gateway = gw_of[i % len(gw_of)]
        env = Uplink(msg_id=i + 1, gateway=gateway, ward=ward, received_at=r.at, frame=r.frame.hex())
        out.append((topics.uplink(ward, gateway, "water_level"), env.model_dump_json().encode()))
    return out


def _sos_figures(sos: _SosLog, rtt_p99: float) -> dict[str, object]:
    latencies = [(sos.acked[k] - sos.sent[k]) * 1000 for k in sos.sent if k in sos.acked]
    p99 = quantile(latencies, 0.99)
    return {"sos": len(sos.sent), "sos_acked": len(latencies), "sos_p50_ms": round(quantile(latencies, 0.5), 1),
            "sos_p99_ms": round(p99, 1), "replicas_answering_sos": len(set(sos.epochs.values())),
            "broker_rtt_p99_ms": round(rtt_p99, 2), "ratio_sos_p99": round(p99 / rtt_p99, 1)}


def _warm_up(clients: list[mqtt.Client], gw_of: list[tuple[str, str]], buttons: list[NodeRecord], sos: _SosLog,
             replicas: int) -> None:
    """SOS until every replica has answered one: the shared subscription reaches them all."""
    for i, button in enumerate(buttons):
        ward, gateway = gw_of[i % GATEWAYS]
        sos.sent[button.node_id] = time.perf_counter()
        clients[i % GATEWAYS].publish(*_sos_uplink(button, ward, gateway, 10_000_000 + i), qos=1)
        wait_for(_acked(sos, button.node_id), 60, "a warm-up SOS to be acknowledged (see central-*.log)")
        if len(set(sos.epochs.values())) >= replicas:
            return
    raise RuntimeError(f"only {len(set(sos.epochs.values()))} of {replicas} replicas answered {len(buttons)} "
                       "warm-up SOS: is the shared subscription in place?")


def _acked(sos: _SosLog, node_id: int) -> Callable[[], bool]:
    return lambda: node_id in sos.acked


def _offer(clients: list[mqtt.Client], gw_of: list[tuple[str, str]], lines: list[tuple[str, bytes]],
           buttons: list[NodeRecord], sos: _SosLog, rate: float, seconds: float) -> float:
    """Publish the readings at ``rate`` and the SOS evenly over ``seconds``; returns when it started."""
    t0 = time.perf_counter()
    sent = next_sos = 0
    sos_every = seconds / max(1, len(buttons))
    while sent < len(lines) or next_sos < len(buttons):
        elapsed = time.perf_counter() - t0
        due = min(len(lines), int(elapsed * rate) + 1)
        for i in range(sent, due):
            clients[i % GATEWAYS].publish(lines[i][0], lines[i][1], qos=1)
        sent = max(sent, due)
        while next_sos < len(buttons) and next_sos * sos_every <= elapsed:
            i, button = next_sos, buttons[next_sos]
            ward, gateway = gw_of[i % GATEWAYS]
            topic, payload = _sos_uplink(button, ward, gateway, 20_000_000 + i)
            with sos.lock:
                sos.sent[button.node_id] = time.perf_counter()
            clients[i % GATEWAYS].publish(topic, payload, qos=1)
            next_sos += 1
        time.sleep(0.005)
    return t0
