"""The scenario end to end: processes up, the mesh model, the replay, central's holdings, the report.

The processes start first (a start-up failure shows in seconds, not after the model's minutes), then
the mesh model runs (seeded, two wards at a time), then the real processes replay it at ``speed``
times real time, and the report is written.
"""

import json
import shutil
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

import httpx

from central.core.config import DATA_DIR
from simulations.faults.rig import read_rows
from simulations.hue2023 import report
from simulations.hue2023.airwaves import run_all
from simulations.hue2023.ledger import ScenarioLedger, central_accountability, expected_accountability
from simulations.hue2023.outcomes import CentralHoldings, incident_fates, incident_views, summarise
from simulations.hue2023.processes import Processes
from simulations.hue2023.runner import GatewayTransmissions, Replay
from simulations.hue2023.time_scale import TimeScale, plan_timers, sim_epoch_for, write_deadlines
from simulations.hue2023.timeline import ScenarioConfig, build_timeline


def _central_holdings(procs: Processes) -> CentralHoldings:
    db = procs.central_db
    cases = [(int(c), int(n), int(s), str(w), str(st))
             for c, n, s, w, st in read_rows(db, "SELECT case_number, node_id, seq, ward_code, state FROM cases")]
    events = [(int(n), int(s), None if c is None else int(c))
              for n, s, c in read_rows(db, "SELECT node_id, seq, case_number FROM events WHERE kind = 'sos'")]
    alerts = [(str(st), str(lv), datetime.fromisoformat(str(at)).timestamp())
              for st, lv, at in read_rows(db, "SELECT station_id, level, at FROM alerts")]
    try:
        rows = httpx.get(f"{procs.api}/api/accountability", timeout=30).json()
    except (httpx.HTTPError, ValueError) as exc:
        raise RuntimeError(f"central's /api/accountability did not answer ({exc}); "
                           f"see {procs.workdir}/processes.log") from exc
    if not isinstance(rows, list):
        raise RuntimeError(f"central's /api/accountability answered {rows!r}; see {procs.workdir}/processes.log")
    rejections = {str(r): int(n) for r, n in read_rows(db, "SELECT reason, count FROM rejections")}
    return CentralHoldings(cases, events, alerts, rows, rejections)


def run_scenario(config: ScenarioConfig, speed: float, out: Path | None, workdir: Path | None) -> dict[str, object]:
    """Mesh, processes, replay, report; the summary."""
    began = time.monotonic()
    own = workdir is None
    work = workdir or Path(tempfile.mkdtemp(prefix="floodmesh-hue2023-"))
    work.mkdir(parents=True, exist_ok=True)
    timeline = build_timeline(config)
    timers = plan_timers(speed, json.loads((DATA_DIR / "deadlines.json").read_text(encoding="utf-8")))
    deadlines = write_deadlines(work / "deadlines-scaled.json", timers.deadlines_scaled)
    ledger = ScenarioLedger()
    transmissions = GatewayTransmissions()
    procs = Processes(work, timeline, timers, deadlines, transmissions.hook)
    try:
        print(f"hue-2023: starting broker, central and {len(config.wards)} gateways ...", file=sys.stderr)
        procs.start()
        started = time.monotonic()
        print(f"hue-2023: mesh model of {len(config.wards)} wards over {config.hours:g} h ...", file=sys.stderr)
        airs = run_all(timeline)
        mesh_s = time.monotonic() - started
        scale = TimeScale(speed, time.monotonic(), sim_epoch_for(time.time(), config.duration_s))
        replay = Replay(timeline, airs, procs, scale, ledger, transmissions)
        replay.schedule()
        trace = replay.run()
        print(file=sys.stderr)
        held = _central_holdings(procs)
    finally:
        procs.stop()
    views = incident_views(timeline, airs, ledger, procs.button_ids, held)
    summary = summarise(timeline, airs, ledger, procs.button_ids, held, scale.sim_epoch, views)
    summary["run"] = {"speed_factor": speed, "mesh_model_s": round(mesh_s, 1), "replay_real_s": round(trace.real_s, 1),
                      "drain_real_s": round(trace.drain_real_s, 1), "drained": trace.drained,
                      "total_real_s": round(time.monotonic() - began, 1), "processes_that_died": trace.dead_processes,
                      "timers": {"gateway": timers.gateway, "central": timers.central}}
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        plots = [report.plot_latency_by_hops(views, out), report.plot_button_ack(views, out),
                 report.plot_alerts(timeline, held, scale.sim_epoch, out), report.plot_channel_util(airs, out),
                 report.plot_outbox(trace, out)]
        expected = expected_accountability(incident_fates(timeline, airs, procs.button_ids), ledger)
        table = report.accountability_html(expected, central_accountability(held.accountability))
        report.write_report(out, summary, plots, table, timers.notes)
        print(f"hue-2023: report in {out / 'index.html'}", file=sys.stderr)
    if own:
        shutil.rmtree(work, ignore_errors=True)
    return summary
