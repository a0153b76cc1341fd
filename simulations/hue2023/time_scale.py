"""Simulated time against real time, and the processes' timers scaled with it.

Simulated time runs ``factor`` times faster than real time. A timer of T simulated seconds becomes
T / factor real seconds, but never less than a floor: below it the real processes' own latency (a
round trip through the broker and central, ~10–100 ms on a loaded 2-core machine) would pass for the
timer firing, e.g. a gateway taking over every SOS because central "did not answer" in 40 ms. Every
floored or unscalable timer is listed in ``TimerPlan.notes`` with what it costs, and the report shows
them. Time the processes themselves take (verify, store, publish, ACK) is counted 1:1 in simulated
time: it is what the same work takes in the field, not a gap the compression shortens.
"""

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class TimeScale:
    """Maps real (monotonic) time to simulated seconds into the window, and simulated to unix time."""

    factor: float
    real_start: float  # time.monotonic() at t = 0
    sim_epoch: float  # unix time t = 0 stands for (so that node clocks never run ahead of real time)

    def __post_init__(self) -> None:
        if self.factor < 1:
            raise ValueError(f"speed factor must be >= 1, got {self.factor}")

    def sim_at(self, real: float) -> float:
        """Simulated seconds into the window at monotonic time ``real``."""
        return (real - self.real_start) * self.factor

    def real_at(self, sim_s: float) -> float:
        """Monotonic time at which simulated second ``sim_s`` comes."""
        return self.real_start + sim_s / self.factor

    def unix(self, sim_s: float) -> float:
        """The nodes' clock (unix seconds) at simulated second ``sim_s``."""
        return self.sim_epoch + sim_s


def sim_epoch_for(unix_now: float, duration_s: float) -> float:
    """Unix time for t = 0 such that the window ends no later than now: node timestamps are never
    in the future (central refuses those), as ``simulations/flood_replay.py`` replays the 2023 flood."""
    return unix_now - duration_s


@dataclass(frozen=True)
class Timer:
    """One timer of a process: its field, its production value, the floor below which it cannot go."""

    process: str
    name: str
    production_s: float
    floor_s: float
    why_floor: str

    def scaled(self, factor: float) -> float:
        """The real-time value for the run."""
        return max(self.production_s / factor, self.floor_s)


TIMERS: tuple[Timer, ...] = (
    Timer("gateway", "autonomy_after_s", 30.0, 2.0,
          "must exceed central's real round trip under load, or every SOS becomes a local case"),
    Timer("gateway", "retry_s", 20.0, 2.0, "a resend faster than central's real ACK only duplicates traffic"),
    Timer("gateway", "status_interval_s", 60.0, 1.0, "nine gateways' status at a higher rate only loads central"),
    Timer("central", "deadline_check_s", 30.0, 0.5, "each check is a real database scan"),
)
DEADLINE_FLOOR_S = 1.0  # a deadline shorter than central's own processing would fire before a case is read
UNSCALED = (
    ("gateway keepalive_s", "an int >= 2 s real (MQTT keepalive); the scenario cuts links by closing them, which "
     "the gateway notices at once, so keepalive never decides anything here"),
    ("central merge window (central/cases/intake.py MERGE_WINDOW, 30 min)", "not a setting: in compressed time it "
     "spans the whole run, so a second emergency from the same button would merge; each incident of the "
     "scenario has a button of its own, so no case is merged that should not be"),
    ("gateway MQTT reconnect backoff (gateway/service.py reconnect_delay_set 1-30 s)", "not a setting: after "
     "a backhaul returns, a gateway redials within 30 real s, which at 720x is up to 6 simulated hours; the "
     "outbox plot's slow tail after the restore is that wait, not the backhaul's throughput"),
    ("central accountability times (mean time to acknowledge/resolve)", "central stamps cases with its wall "
     "clock: those means are in compressed real seconds, not compared with the ledger"),
)


@dataclass(frozen=True)
class TimerPlan:
    """The timers as passed to the processes, and what the scaling could not do."""

    factor: float
    gateway: dict[str, float]
    central: dict[str, float]
    deadlines_scaled: dict[str, Any]
    notes: list[str]


def plan_timers(factor: float, deadlines: dict[str, Any]) -> TimerPlan:
    """Every timer that matters at ``factor``: scaled, floored where it must be, or named as unscaled."""
    gateway: dict[str, float] = {}
    central: dict[str, float] = {}
    notes: list[str] = []
    for timer in TIMERS:
        value = timer.scaled(factor)
        (gateway if timer.process == "gateway" else central)[timer.name] = round(value, 3)
        if value > timer.production_s / factor:
            notes.append(f"{timer.process} {timer.name}: {timer.production_s:g} s would be "
                         f"{timer.production_s / factor:.3f} s real; floored at {timer.floor_s:g} s real = "
                         f"{timer.floor_s * factor:.0f} simulated s ({timer.why_floor})")
    scaled, floored = scale_deadlines(deadlines, factor)
    if floored:
        notes.append(f"central deadlines: {floored} shorter than {DEADLINE_FLOOR_S:g} s real after scaling were "
                     f"floored at {DEADLINE_FLOOR_S * factor:.0f} simulated s")
    notes += [f"{name}: not scaled ({cost})" for name, cost in UNSCALED]
    return TimerPlan(factor, gateway, central, scaled, notes)


def scale_deadlines(deadlines: dict[str, Any], factor: float) -> tuple[dict[str, Any], int]:
    """central's deadlines.json with every number divided by ``factor`` (floored); how many were floored."""
    floored = 0
    out: dict[str, Any] = {}
    for state, per_kind in deadlines.items():
        if not isinstance(per_kind, dict):
            out[state] = per_kind  # the file's comment
            continue
        out[state] = {}
        for kind, seconds in per_kind.items():
            value = float(seconds) / factor
            if value < DEADLINE_FLOOR_S:
                floored += 1
                value = DEADLINE_FLOOR_S
            out[state][kind] = round(value, 3)
    return out, floored


def write_deadlines(path: Path, scaled: dict[str, Any]) -> Path:
    """Write the scaled deadlines where central reads them (``--deadlines-path``)."""
    path.write_text(json.dumps(scaled, indent=1), encoding="utf-8")
    return path
