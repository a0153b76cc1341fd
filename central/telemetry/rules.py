"""Flood rules as a pure function: station state + one passing level -> new state + alert events.

Alert levels (báo động 1/2/3) are raised when the level reaches them and cleared only once it falls
``hysteresis_m`` below, each after ``confirm_n`` consecutive readings agree, so a wobbling river at a
threshold does not flood the wards with messages. The trend is a least-squares slope over the last
``trend_window_s``; a rise faster than ``rise_alert_m_per_h`` is an alert of its own, and the trend
gives the time to the next level. Only quality-passed readings are fed here.

Each reading costs O(1) amortised: the window and its least-squares sums are a ``TrendWindow``
(central/telemetry/trend.py), not a tuple sorted and summed again on every reading.
"""

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Literal

from central.telemetry.stations import RANKS, AlertName, Station
from central.telemetry.trend import TrendWindow

AlertKind = Literal["level_raised", "level_cleared", "rising_fast", "rising_eased"]


@dataclass(frozen=True)
class RuleConfig:
    """Tunables of the rules."""

    hysteresis_m: float = 0.10
    confirm_n: int = 2
    rise_alert_m_per_h: float = 0.30
    rise_clear_m_per_h: float = 0.15
    trend_window_s: float = 3 * 3600.0
    trend_min_points: int = 3
    trend_min_span_s: float = 900.0


@dataclass(frozen=True)
class AlertEvent:
    """One change of a station's alert state, with what the wards need to know."""

    station_id: str
    kind: AlertKind
    level: AlertName  # raised: the level reached; cleared: the level left; rising: the current level
    level_m: float
    rate_m_per_h: float | None
    eta_next_s: float | None  # time to the next alert level at the current trend
    next_level: AlertName | None
    at: float  # unix seconds, the sensor's time of the reading that decided it


@dataclass(frozen=True)
class StationState:
    """What the rules remember about one station between readings."""

    rank: int = 0
    rising_fast: bool = False
    trend: TrendWindow = field(default_factory=TrendWindow)  # the last ``trend_window_s`` of readings
    pending: int = 0  # consecutive readings asking for a rank change in the same direction
    pending_dir: int = 0
    last_t: float | None = None

    @property
    def alert(self) -> AlertName:
        """The alert level in force."""
        return RANKS[self.rank]

    @property
    def window(self) -> tuple[tuple[float, float], ...]:
        """The (t, level) points of the trend window, oldest first."""
        return self.trend.points

    @property
    def level_m(self) -> float | None:
        """The level of the newest reading the rules saw."""
        last = self.trend.last
        return last[1] if last is not None else None


def trend_m_per_h(window: Sequence[tuple[float, float]], cfg: RuleConfig) -> float | None:
    """Least-squares slope of the window in m/h; None without enough points or span (from scratch, O(n))."""
    if len(window) < cfg.trend_min_points or window[-1][0] - window[0][0] < cfg.trend_min_span_s:
        return None
    n = len(window)
    mt = sum(t for t, _ in window) / n
    ml = sum(v for _, v in window) / n
    var = sum((t - mt) ** 2 for t, _ in window)
    cov = sum((t - mt) * (v - ml) for t, v in window)
    return cov / var * 3600.0


def window_trend_m_per_h(window: TrendWindow, cfg: RuleConfig) -> float | None:
    """``trend_m_per_h`` of a ``TrendWindow`` from its running sums, O(1)."""
    first, last = window.first, window.last
    if first is None or last is None or len(window) < cfg.trend_min_points:
        return None
    if last[0] - first[0] < cfg.trend_min_span_s:
        return None
    slope = window.slope_per_s()
    return None if slope is None else slope * 3600.0


def eta_next_s(station: Station, rank: int, level: float, rate: float | None) -> tuple[AlertName | None, float | None]:
    """The next level above ``rank`` and the seconds until the trend reaches it (None if not rising)."""
    if rank >= 3:
        return None, None
    nxt = RANKS[rank + 1]
    if rate is None or rate <= 0:
        return nxt, None
    return nxt, max(0.0, (station.threshold(rank + 1) - level) / rate * 3600.0)


class FloodRules:
    """Evaluates readings of one set of stations with one configuration."""

    def __init__(self, cfg: RuleConfig | None = None) -> None:
        self.cfg = cfg or RuleConfig()

    def target_rank(self, station: Station, rank: int, level: float) -> int:
        """The rank the level asks for: up on reaching a level, down only below it minus hysteresis."""
        target = rank
        while target < 3 and level >= station.threshold(target + 1):
            target += 1
        if target > rank:
            return target
        while target > 0 and level < station.threshold(target) - self.cfg.hysteresis_m:
            target -= 1
        return target

    def evaluate(
        self, station: Station, state: StationState, t: float, level: float
    ) -> tuple[StationState, list[AlertEvent]]:
        """Fold one passing reading into the state; the events it causes, in order."""
        cfg = self.cfg
        trend = state.trend.added(t, level, cfg.trend_window_s)
        if state.last_t is not None and t <= state.last_t:
            # Late or replayed reading: it refines the trend but cannot decide a crossing.
            return replace(state, trend=trend), []
        rate = window_trend_m_per_h(trend, cfg)
        new = replace(state, trend=trend, last_t=t)
        events: list[AlertEvent] = []

        target = self.target_rank(station, state.rank, level)
        direction = (target > state.rank) - (target < state.rank)
        pending = state.pending + 1 if direction and direction == state.pending_dir else (1 if direction else 0)
        if direction and pending >= cfg.confirm_n:
            step = range(state.rank + 1, target + 1) if direction > 0 else range(state.rank, target, -1)
            for r in step:
                kind: AlertKind = "level_raised" if direction > 0 else "level_cleared"
                reached = r if direction > 0 else r - 1
                nxt, eta = eta_next_s(station, reached, level, rate)
                events.append(AlertEvent(station.id, kind, RANKS[r], level, rate, eta, nxt, t))
            new = replace(new, rank=target, pending=0, pending_dir=0)
        else:
            new = replace(new, pending=pending, pending_dir=direction)

        if rate is not None:
            fast = rate > cfg.rise_alert_m_per_h or (state.rising_fast and rate >= cfg.rise_clear_m_per_h)
            if fast != state.rising_fast:
                nxt, eta = eta_next_s(station, new.rank, level, rate)
                kind = "rising_fast" if fast else "rising_eased"
                events.append(AlertEvent(station.id, kind, new.alert, level, rate, eta, nxt, t))
                new = replace(new, rising_fast=fast)
        return new, events
