"""How long an SOS takes from the gateway's radio back to it as an ACK, idle and under telemetry load.

Everything runs as deployed: Mosquitto with TLS, passwords and the ACL; ``floodmesh central`` and
``floodmesh gateway`` as their own processes; the gateway on the simulated Meshtastic radio over TCP
(``simulations/meshtastic_radio.py``), so the real ``meshtastic`` client library reads and writes it.
An SOS is *injected* into the radio as heard over LoRa; its latency ends when the radio sees the
gateway transmit the ACK frame (decoded with the button's key and matched to that SOS). SOS arrive
every ``SOS_INTERVAL_S`` from distinct buttons, without waiting for each other (open loop).

Phases: ``idle`` (only SOS), then one per load in ``FLOODMESH_BENCH_SOS_LOADS`` (default 2,000 and
5,000 readings/s; issue 14 asks for 2,000, issue 13 for 5,000): the same SOS while the radio also
hands over that many readings a second that pass QC, so central runs the flood rules on each. Each
phase also reports where the time went (``benchmarks/sos_stages.py``: gateway up, central, gateway
down, timed on the broker by passive observers).

The baseline, in the same run on the same broker: the broker's own round trip, paho publish -> paho
subscriber -> reply, QoS 1, TLS and TCP_NODELAY on both sides, measured three times (before the
gateway starts, after the idle phase, at the end) and the best p99 of the three kept, so a moment of
noise on the shared machine cannot flatter the ratios. ``ratio_p99_<phase>`` = that phase's p99 over
the broker's p99. Goals (issues 13 and 14): idle p99 <= 10 ms; under 2,000 readings/s p99 <= 25 ms;
under load ``ratio_p99`` <= 5. Issue 13 times the SOS from the gateway's publish to central's ACK
publish (the ``central`` stage), so ``ratio_p99_central_<phase>`` is that stage's p99 over the broker's
p99 too; the goals judge both, the radio-to-radio ratio being the stricter.
"""

import gc
import os
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path

from benchmarks.broker_rtt import broker_round_trips
from benchmarks.latency import LatencyProbe, TelemetryLoad, percentiles
from benchmarks.plots import plot_latencies
from benchmarks.processes import ChildProcess, central_stats, start_central, start_gateway, wait_for
from benchmarks.readings import qc_passing_readings, station_sites
from benchmarks.sos_stages import StageObserver
from benchmarks.telemetry_throughput import rules_work
from edge_nodes.fleet import ButtonSite, build_fleet
from floodmesh.broker import start_broker
from protocol import frames
from protocol.mesh import FLOODMESH_PORTNUM
from protocol.registry import NodeRecord
from simulations.meshtastic_radio import SimulatedMeshtasticRadio

WARD, GATEWAY = "19813", "gw-19813"
GATEWAY_RADIO = 0x0F000001
SENSORS = 50  # spread over central's stations
# 10 SOS a second from one ward: ten times the worst hour Huế's IOC has seen, and slow enough that the
# SOS do not queue behind each other's fsyncs (each costs the gateway one on its path and central one).
# The telemetry is the load being measured, not the SOS.
SOS_INTERVAL_S = 0.1
WARM_UP_SOS = 5
LOAD_WARM_UP_S = 1.0  # load runs this long before the first measured SOS
GOAL_P99_MS = {"idle": 10.0, "load_2000": 25.0}
GOAL_RATIO_P99_LOADED = 5.0  # issue 13: loaded p99 within five broker round trips
PLOT = Path(__file__).with_name("sos_latency.png")


def _sos_phase(
    radio: SimulatedMeshtasticRadio, probe: LatencyProbe, buttons: list[NodeRecord], what: str
) -> list[float]:
    """Inject one SOS per button, ``SOS_INTERVAL_S`` apart; return each one's radio -> radio time in ms."""
    start = time.perf_counter()
    for i, rec in enumerate(buttons):
        time.sleep(max(0.0, start + i * SOS_INTERVAL_S - time.perf_counter()))
        frame = frames.Frame(rec.node_id, 1, 1, int(time.time()), frames.Sos(i % 4, 1 + i % 6))
        data = frames.encode(frame, rec.key)
        probe.expect(rec, frame.boot_epoch, frame.seq)
        radio.inject(rec.node_id, FLOODMESH_PORTNUM, data)
    if not probe.wait_all([r.node_id for r in buttons], timeout_s=60):
        missing = probe.unanswered([r.node_id for r in buttons])
        raise RuntimeError(f"{what}: {len(missing)} of {len(buttons)} SOS never ACKed (first: {missing[:5]}); "
                           "see the gateway and central logs in the benchmark's workdir")
    print(f"sos_latency: {what}: {len(buttons)}/{len(buttons)} SOS ACKed", file=sys.stderr, flush=True)
    return probe.latencies_ms([r.node_id for r in buttons])


def _load_duration_s(sos: int) -> float:
    """How long a load phase feeds readings: its warm-up, its SOS, and a margin."""
    return LOAD_WARM_UP_S + sos * SOS_INTERVAL_S + 5.0


def _loads() -> list[int]:
    """The loads to measure under, in readings/s (``FLOODMESH_BENCH_SOS_LOADS``)."""
    raw = os.environ.get("FLOODMESH_BENCH_SOS_LOADS", "2000,5000")
    try:
        return [int(x) for x in raw.split(",") if x.strip()]
    except ValueError:
        raise SystemExit(f"FLOODMESH_BENCH_SOS_LOADS={raw!r}: give readings/s as integers, e.g. 2000,5000") from None


def run(sos_per_phase: int | None = None, loads_per_s: list[int] | None = None,
        plot: Path | None = PLOT) -> dict[str, object]:
    """Measure SOS latency idle and under each load, and the broker's round trip; the JSON-able result."""
    n = sos_per_phase or int(os.environ.get("FLOODMESH_BENCH_SOS", "250"))
    loads = loads_per_s if loads_per_s is not None else _loads()
    workdir = Path(tempfile.mkdtemp(prefix="floodmesh-sos-latency-"))
    load_before = os.getloadavg()[0]
    try:
        result = _measure(workdir, n, loads, plot)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    # Latency is what a shared machine's other work disturbs most: say how busy it was (2 cores here).
    return {**result, "machine_load_1m": [round(load_before, 2), round(os.getloadavg()[0], 2)],
            "cpus": os.cpu_count()}


class _Run:
    """The parts of one measurement, started in order and stopped in reverse."""

    def __init__(self, workdir: Path, n: int, loads: list[int]) -> None:
        phases = 1 + len(loads)
        self.workdir = workdir
        self.broker = start_broker(workdir / "broker", prefer="mosquitto")
        sites = station_sites(WARD)
        self.registry = build_fleet(sites, [ButtonSite(WARD)] * (phases * n + WARM_UP_SOS),
                                    sensors_per_station=max(1, SENSORS // len(sites)))
        self.registry.save(workdir / "nodes.json")
        self.buttons = sorted((r for r in self.registry if r.kind == "sos_button"), key=lambda r: r.node_id)
        self.probe = LatencyProbe()
        self.radio = SimulatedMeshtasticRadio(GATEWAY_RADIO, on_transmit=self.probe.heard)
        self.stages = StageObserver()
        self.log = (workdir / "processes.log").open("ab")
        self.central: ChildProcess | None = None
        self.gateway: ChildProcess | None = None
        self.api = ""  # central's base URL once it runs
        self.readings_sent = 0
        # Every phase's readings made at once: sequence numbers and times then rise across the phases.
        total = sum(int(x * _load_duration_s(n)) for x in loads)
        self.readings = [(b.node_id, b.frame) for b in qc_passing_readings(self.registry, total)] if total else []

    def start_processes(self) -> None:
        """Central, the gateway on the simulated radio, and the stage observers; returns once all run."""
        self.central = start_central(self.broker, self.workdir, self.workdir / "nodes.json", self.log)
        self.api = self.central.api
        self.gateway = start_gateway(self.broker, WARD, GATEWAY, f"tcp:{self.radio.host}:{self.radio.port}",
                                     self.workdir / "nodes.json", self.workdir / "outbox.db", self.log)
        self.stages.start(self.broker.endpoint_for_central(), self.broker.add_gateway(WARD, GATEWAY), WARD, GATEWAY)
        if not self.radio.connected.wait(60):
            raise TimeoutError("the gateway never completed the radio handshake; see processes.log")

    def phase(self, buttons: list[NodeRecord], what: str, load_per_s: int = 0) -> tuple[list[float], dict[str, object]]:
        """One phase's latencies (ms) and its stage breakdown; under load, waits for central to catch up."""
        if not load_per_s:
            latencies = _sos_phase(self.radio, self.probe, buttons, what)
            return latencies, self._breakdown(buttons)
        count = int(load_per_s * _load_duration_s(len(buttons)))
        readings = self.readings[self.readings_sent:self.readings_sent + count]
        load = TelemetryLoad(self.radio, readings, load_per_s)
        stop = threading.Event()
        feeder = threading.Thread(target=load.run, args=(stop,), name="telemetry-load")
        feeder.start()
        try:
            time.sleep(LOAD_WARM_UP_S)  # pacing, not synchronisation: the load must be flowing first
            latencies = _sos_phase(self.radio, self.probe, buttons, what)
        finally:
            stop.set()
            feeder.join()
        self.readings_sent += load.sent
        api = self.api
        print(f"sos_latency: {what}: waiting for central to store {self.readings_sent} readings", file=sys.stderr,
              flush=True)
        wait_for(lambda: int(str(central_stats(api)["readings_stored"])) >= self.readings_sent, 600,
                 "central to store every reading of the load")
        return latencies, {**self._breakdown(buttons), "readings_per_s": round(load.achieved_per_s, 1),
                           "readings": load.sent}

    def _breakdown(self, buttons: list[NodeRecord]) -> dict[str, object]:
        ids = [b.node_id for b in buttons]
        return {"stages_ms": self.stages.breakdown(self.probe.injected_at(ids), self.probe.acked_at)}

    def rules_work(self) -> dict[str, int]:
        """How many of the load's readings passed QC and ran the flood rules (all, or this raises)."""
        return rules_work(central_stats(self.api), self.readings_sent)

    def stop(self) -> None:
        """Stop everything that was started."""
        self.stages.stop()
        for child in (self.gateway, self.central):
            if child is not None:
                child.stop()
        self.radio.close()
        self.log.close()
        self.broker.stop()


def _best_rtt(runs: list[list[float]]) -> tuple[list[float], list[dict[str, float]]]:
    """The run with the lowest p99 (the strictest baseline for the ratios), and every run's figures."""
    figures = [percentiles(r) for r in runs]
    best = min(range(len(runs)), key=lambda i: figures[i]["p99"])
    return runs[best], figures


def _stage_p99(phase: dict[str, object], stage: str) -> float | None:
    """A stage's p99 (ms) from a phase's ``stages_ms``, None when the observers missed it."""
    stages = phase.get("stages_ms")
    figures = stages.get(stage) if isinstance(stages, dict) else None
    p99 = figures.get("p99") if isinstance(figures, dict) else None
    return float(p99) if isinstance(p99, int | float) else None


def _measure(workdir: Path, n: int, loads: list[int], plot: Path | None) -> dict[str, object]:
    r = _Run(workdir, n, loads)
    rtt_runs: list[list[float]] = []
    series: dict[str, list[float]] = {}
    phases: dict[str, dict[str, object]] = {}
    try:
        print("sos_latency: broker round trips (1 of 3)", file=sys.stderr, flush=True)
        rtt_runs.append(broker_round_trips(r.broker, WARD, n))
        r.start_processes()
        _sos_phase(r.radio, r.probe, r.buttons[:WARM_UP_SOS], "warm-up")
        # This process times every SOS: a collection of its own setup's objects (fleet, readings,
        # protobufs) between an SOS's timestamp and its injection measured 20-40 ms of nobody's latency.
        # And its young-generation passes under load (7-18 ms seen while it paces 5,000 readings/s) stall
        # the thread that timestamps: no collection at all while it times (reference counting still frees
        # what it drops; this process is the harness, not the system measured).
        gc.collect()
        gc.freeze()
        gc.disable()
        phase_buttons = [r.buttons[WARM_UP_SOS + i * n:WARM_UP_SOS + (i + 1) * n] for i in range(1 + len(loads))]
        series["idle"], phases["idle"] = r.phase(phase_buttons[0], "idle")
        print("sos_latency: broker round trips (2 of 3)", file=sys.stderr, flush=True)
        rtt_runs.append(broker_round_trips(r.broker, WARD, n))
        for load_per_s, buttons in zip(loads, phase_buttons[1:], strict=True):
            name = f"load_{load_per_s}"
            series[name], phases[name] = r.phase(buttons, f"under {load_per_s:,} readings/s", load_per_s)
        print("sos_latency: broker round trips (3 of 3)", file=sys.stderr, flush=True)
        rtt_runs.append(broker_round_trips(r.broker, WARD, n))
        work = {"load_readings": r.readings_sent, **r.rules_work()} if loads else {}
        broker_kind = r.broker.kind
    finally:
        gc.enable()
        gc.unfreeze()
        r.stop()
    rtt, rtt_figures = _best_rtt(rtt_runs)
    rtt_p99 = percentiles(rtt)["p99"]
    result: dict[str, object] = {"name": "sos_latency", "sos_per_phase": n,
                                 "acked": sum(len(v) for v in series.values())}  # every one, or a phase raised
    goals: dict[str, bool] = {}
    for name, samples in series.items():
        figures = percentiles(samples)
        result[f"{name}_ms"] = {**figures, **phases[name]}
        result[f"ratio_p99_{name}"] = round(figures["p99"] / rtt_p99, 1)
        goal = GOAL_P99_MS.get(name)
        if goal is not None:
            goals[f"{name}_p99_le_{goal:g}ms"] = figures["p99"] <= goal
        central_p99 = _stage_p99(phases[name], "central")
        if central_p99 is not None:
            result[f"ratio_p99_central_{name}"] = round(central_p99 / rtt_p99, 1)
        if name != "idle":
            goals[f"{name}_ratio_p99_le_{GOAL_RATIO_P99_LOADED:g}"] = figures["p99"] / rtt_p99 <= GOAL_RATIO_P99_LOADED
            if central_p99 is not None:
                goals[f"{name}_central_ratio_p99_le_{GOAL_RATIO_P99_LOADED:g}"] = (
                    central_p99 / rtt_p99 <= GOAL_RATIO_P99_LOADED)
    result.update({"broker_rtt_ms": percentiles(rtt), "broker_rtt_runs_ms": rtt_figures, **work, "goals_met": goals,
                   "broker": broker_kind})
    if plot is not None:
        labels = {"idle": "idle", **{f"load_{x}": f"under {x:,} readings/s" for x in loads}}
        plot_latencies({**{labels[k]: v for k, v in series.items()}, "broker round trip (best of 3)": rtt},
                       {"idle": GOAL_P99_MS["idle"], "2,000/s": GOAL_P99_MS["load_2000"]}, plot)
        result["plot"] = str(plot)
    return result
