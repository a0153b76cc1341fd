"""The report a planner reads: one HTML page with PNG plots (matplotlib, Agg) and ``summary.json``.

Plots: SOS latency to the gateway by hop count (CDF); press to the button's ACK, in and out of
isolation (CDF); alerts against the hydrographs; channel utilisation per ward; outbox depth per gateway.
The accountability table of central beside the one the scenario's ledger implies.
"""

import html
import json
from collections import defaultdict
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from simulations.hue2023.airwaves import WardAir
from simulations.hue2023.ledger import COMPARED
from simulations.hue2023.outcomes import CentralHoldings, IncidentView
from simulations.hue2023.runner import RunTrace
from simulations.hue2023.timeline import ALERT_LEVELS_M, STATION_OF_WARD, Timeline, level_at_t

GOALS = (  # (measure, goal as said, met(value, whole summary))
    ("sos_delivered_ratio", "≥ 0.999", lambda v, _s: isinstance(v, float) and v >= 0.999),
    ("local_ack_30s_ratio", "= 1.0", lambda v, _s: v == 1.0),
    ("duplicate_cases", "= 0", lambda v, _s: v == 0),
    ("merged_after_reconnect_ratio", "= 1.0", lambda v, _s: v == 1.0),
    ("accountability_matches", "true", lambda v, _s: v is True),
    ("alert_lag_max_s", "≤ one reporting interval",
     lambda v, s: isinstance(v, float | int) and v <= float(s.get("reporting_interval_s", 0.0))),
)


def _cdf(ax: Axes, values: list[float], label: str) -> None:
    if not values:
        return
    ordered = sorted(values)
    shares = [(i + 1) / len(ordered) for i in range(len(ordered))]
    ax.step(ordered, shares, where="post", label=f"{label} (n={len(ordered)})")


def plot_latency_by_hops(views: list[IncidentView], out: Path) -> Path:
    """CDF of press -> first reception at the gateway, one line per hop count."""
    fig, ax = plt.subplots(figsize=(7, 4))
    by_hops: dict[int, list[float]] = defaultdict(list)
    for v in views:
        if v.heard_s is not None and v.hops is not None:
            by_hops[v.hops].append(v.heard_s)
    for hops in sorted(by_hops):
        _cdf(ax, by_hops[hops], f"{hops} hop{'s' if hops != 1 else ''}")
    ax.set(xscale="symlog", xlabel="press → gateway heard it (simulated s)", ylabel="share of SOS",
           title="SOS latency to the ward gateway by hop count")
    ax.grid(alpha=0.3)
    ax.legend()
    return _save(fig, out / "sos_latency_by_hops.png")


def plot_button_ack(views: list[IncidentView], out: Path) -> Path:
    """CDF of press -> the button's ACK, with the ward connected and cut off."""
    fig, ax = plt.subplots(figsize=(7, 4))
    _cdf(ax, [v.button_acked_s for v in views if v.button_acked_s is not None and not v.isolated], "ward connected")
    _cdf(ax, [v.button_acked_s for v in views if v.button_acked_s is not None and v.isolated], "ward cut off")
    ax.set(xscale="symlog", xlabel="press → LED shows the ACK (simulated s)", ylabel="share of SOS",
           title="Time from press to the button's ACK")
    ax.grid(alpha=0.3)
    ax.legend()
    return _save(fig, out / "button_ack.png")


def plot_alerts(timeline: Timeline, held: CentralHoldings, sim_epoch: float, out: Path) -> Path:
    """Each station's 2023 hydrograph, its alert levels, and the alerts central decided (reading time)."""
    stations = sorted({STATION_OF_WARD[w] for w in timeline.config.wards})
    fig, axes = plt.subplots(len(stations), 1, figsize=(8, 3.2 * len(stations)), squeeze=False)
    hours = [h / 4 for h in range(int(timeline.config.hours * 4) + 1)]
    for ax, station in zip(axes[:, 0], stations, strict=True):
        ax.plot(hours, [level_at_t(timeline.config, station, h * 3600) for h in hours], label="river (2023)")
        for name, level in ALERT_LEVELS_M[station].items():
            ax.axhline(level, ls="--", lw=0.8, color="grey")
            ax.text(0, level, name, va="bottom", fontsize=8)
        alerts = [((at - sim_epoch) / 3600, lv) for s, lv, at in held.alerts if s == station]
        for t, alert_level in alerts:
            y = ALERT_LEVELS_M[station].get(alert_level)
            if y is not None:
                ax.plot([t], [y], "rv")
        ax.set(title=f"{station}: alerts central decided (red ▼, at the deciding reading)", ylabel="level (m)")
        ax.grid(alpha=0.3)
    axes[-1, 0].set_xlabel("hours into the window")
    return _save(fig, out / "alerts_vs_hydrograph.png")


def plot_channel_util(airs: dict[str, WardAir], out: Path) -> Path:
    """Channel utilisation at each ward's gateway: the hourly mean (lines) and each ward's busiest minute."""
    fig, ax = plt.subplots(figsize=(8, 4))
    for ward, air in sorted(airs.items()):
        hourly: dict[int, list[float]] = defaultdict(list)
        for t, u in air.channel_util:
            hourly[int(t // 3600)].append(u)
        hours = sorted(hourly)
        peak = max((u for _, u in air.channel_util), default=0.0)
        ax.plot(hours, [100 * sum(hourly[h]) / len(hourly[h]) for h in hours], lw=0.9,
                label=f"{ward} (busiest minute {peak:.0%})")
    ax.axhline(25, ls="--", color="grey", lw=0.8)
    ax.text(0, 25.5, "25 %: the firmware holds telemetry back above this", fontsize=7)
    ax.set(xlabel="hours into the window", ylabel="hourly mean channel utilisation (%)",
           title="Channel utilisation at each ward's gateway")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, ncol=2)
    return _save(fig, out / "channel_util.png")


def plot_outbox(trace: RunTrace, out: Path) -> Path:
    """Messages waiting in each gateway's outbox over the window, and how many wards were cut off."""
    fig, ax = plt.subplots(figsize=(8, 4))
    by_ward: dict[str, list[tuple[float, int]]] = defaultdict(list)
    for t, ward, depth in trace.outbox_depth:
        by_ward[ward].append((t / 3600, depth))
    for ward, points in sorted(by_ward.items()):
        ax.plot([p[0] for p in points], [p[1] for p in points], lw=0.8, label=ward)
    twin = ax.twinx()
    twin.fill_between([t / 3600 for t, _ in trace.isolated_wards], [n for _, n in trace.isolated_wards],
                      step="post", alpha=0.12, color="red")
    twin.set_ylabel("wards cut off (shaded)")
    ax.set(xlabel="hours into the window", ylabel="messages in the outbox", title="Outbox depth per gateway")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, ncol=3)
    return _save(fig, out / "outbox_depth.png")


def _save(fig: Figure, path: Path) -> Path:
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def accountability_html(expected: dict[str, dict[str, int]], central: dict[str, dict[str, int]]) -> str:
    """Central's table and the ledger's side by side; a differing cell is marked."""
    head = "".join(f"<th>{c} (central / ledger)</th>" for c in COMPARED)
    rows = []
    for ward in sorted(set(expected) | set(central)):
        cells = []
        for c in COMPARED:
            a, b = central.get(ward, {}).get(c, 0), expected.get(ward, {}).get(c, 0)
            cells.append(f"<td{' class=bad' if a != b else ''}>{a} / {b}</td>")
        rows.append(f"<tr><td>{html.escape(ward)}</td>{''.join(cells)}</tr>")
    return f"<table><tr><th>ward</th>{head}</tr>{''.join(rows)}</table>"


def write_report(out: Path, summary: dict[str, object], plots: list[Path], accountability: str,
                 notes: list[str]) -> Path:
    """``index.html`` and ``summary.json`` in ``out``."""
    (out / "summary.json").write_text(json.dumps(summary, indent=1, ensure_ascii=False), encoding="utf-8")
    verdicts = [(name, want, summary.get(name), met(summary.get(name), summary)) for name, want, met in GOALS]
    goals = "".join(
        f"<tr><td>{name}</td><td>{want}</td><td>{html.escape(json.dumps(value))}</td>"
        f"<td class={'ok' if ok else 'bad'}>{'met' if ok else 'not met'}</td></tr>"
        for name, want, value, ok in verdicts)
    figures = "".join(f'<figure><img src="{p.name}" alt="{p.stem}"><figcaption>{p.stem}</figcaption></figure>'
                      for p in plots)
    listed = "".join(f"<li>{html.escape(n)}</li>" for n in notes)
    page = f"""<!doctype html><html lang="en"><meta charset="utf-8"><title>floodmesh: Huế 2023 on a LoRa mesh</title>
<style>body{{font-family:sans-serif;max-width:980px;margin:auto}}td,th{{border:1px solid #ccc;padding:3px 6px}}
table{{border-collapse:collapse}}.bad{{background:#fdd}}.ok{{background:#dfd}}img{{max-width:100%}}</style>
<h1>The November 2023 flood in Huế over a modelled LoRa mesh</h1>
<p>{html.escape(json.dumps(summary.get("scenario"), ensure_ascii=False))}</p>
<h2>Goals</h2><table><tr><th>measure</th><th>goal</th><th>measured</th><th></th></tr>{goals}</table>
<p>alert_lag_max_s: {summary.get("alert_lag_max_s")} s against a reporting interval of
{summary.get("reporting_interval_s")} s; channel utilisation max per ward:
{html.escape(json.dumps(summary.get("channel_util_max")))}</p>
<h2>Accountability: central against the scenario's ledger</h2>{accountability}
<h2>Plots</h2>{figures}
<h2>Time scaling and what it costs</h2><ul>{listed}</ul>
<h2>Summary</h2><pre>{html.escape(json.dumps(summary, indent=1, ensure_ascii=False))}</pre></html>"""
    path = out / "index.html"
    path.write_text(page, encoding="utf-8")
    return path
