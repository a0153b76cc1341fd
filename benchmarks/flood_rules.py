"""The flood rules' per-reading trend work, from scratch (as before) against the running sums, in µs.

A station with 25 sensors reporting once a minute has ~4,500 points in its 3-hour window. Before, each
reading rebuilt that window as a sorted tuple and summed it again (O(window)); now a ``TrendWindow``
appends, evicts and reads its running sums (O(1) amortised). ``evaluate_us`` is the whole
``FloodRules.evaluate`` as it runs now; ``ratio`` is the old trend step's cost over the new one's.
"""

import time

from benchmarks.readings import central_stations
from central.telemetry.rules import FloodRules, RuleConfig, StationState, trend_m_per_h, window_trend_m_per_h
from central.telemetry.trend import TrendWindow

POINTS_IN_WINDOW = 4500
T0 = 1_700_000_000.0


def _stream(n: int) -> list[tuple[float, float]]:
    step = RuleConfig().trend_window_s / POINTS_IN_WINDOW
    return [(T0 + i * step, 0.5 + 0.002 * (i % 50)) for i in range(n)]


def _old_step_us(stream: list[tuple[float, float]], cfg: RuleConfig) -> float:
    window: tuple[tuple[float, float], ...] = ()
    t0 = time.perf_counter()
    for t, level in stream:
        window = tuple(sorted(p for p in (*window, (t, level)) if p[0] >= t - cfg.trend_window_s))
        trend_m_per_h(window, cfg)
    return (time.perf_counter() - t0) / len(stream) * 1e6


def _new_step_us(stream: list[tuple[float, float]], cfg: RuleConfig) -> float:
    window = TrendWindow()
    t0 = time.perf_counter()
    for t, level in stream:
        window = window.added(t, level, cfg.trend_window_s)
        window_trend_m_per_h(window, cfg)
    return (time.perf_counter() - t0) / len(stream) * 1e6


def _evaluate_us(stream: list[tuple[float, float]]) -> float:
    station, rules, state = central_stations()["kim_long"], FloodRules(), StationState()
    t0 = time.perf_counter()
    for t, level in stream:
        state, _ = rules.evaluate(station, state, t, level)
    return (time.perf_counter() - t0) / len(stream) * 1e6


def run(n: int = 3 * POINTS_IN_WINDOW) -> dict[str, object]:
    """Both trend steps over a full window and the whole evaluate, per reading."""
    cfg, stream = RuleConfig(), _stream(n)
    old, new = _old_step_us(stream, cfg), _new_step_us(stream, cfg)
    return {
        "name": "flood_rules",
        "readings": n,
        "points_in_window": POINTS_IN_WINDOW,
        "old_trend_step_us": round(old, 2),
        "new_trend_step_us": round(new, 2),
        "ratio": round(old / new, 1),
        "evaluate_us": round(_evaluate_us(stream), 2),
    }
