"""Replaying the November 2023 flood through the demo's river gauges, compressed in time.

The flood's five days are replayed in a couple of minutes, ending now: the gauges' clocks run from
five days ago, a few thousand times faster than real time, until they catch up with the present.
Node timestamps therefore never lie in the future, and each reading is 15 simulated minutes after
the last, so the rises stay what they were (≤ 0.35 m/h) and pass the quality checks: alerts come
from the flood rules as they would have in 2023.
"""

import math
from dataclasses import dataclass
from datetime import timedelta

from central.telemetry import nov2023

REPLAY_S = (nov2023.ANCHORS[-1][0] - nov2023.ANCHORS[0][0]).total_seconds()
READING_EVERY_S = 15 * 60


@dataclass(frozen=True)
class ReplayClock:
    """Simulated time for the gauges: ``speed`` times real time from ``REPLAY_S`` ago, then real time."""

    real_start: float
    speed: float

    @property
    def sim_start(self) -> float:
        """Unix time the replay's first moment is mapped to."""
        return self.real_start - REPLAY_S

    def __call__(self, now: float) -> float:
        return min(now, self.sim_start + (now - self.real_start) * self.speed)


@dataclass(frozen=True)
class StationReplay:
    """The Kim Long curve of 2023, scaled to a station's alert levels and shifted by ``lag_s``."""

    clock: ReplayClock
    scale: float = 1.0
    lag_s: float = 0.0
    wobble_m: float = 0.002  # a live gauge never reads the same millimetre twice in a row

    def level_at(self, sim_t: float) -> float:
        """Water level (m above gauge zero) at simulated unix time ``sim_t``."""
        offset = min(max(sim_t - self.clock.sim_start - self.lag_s, 0.0), REPLAY_S)
        base = nov2023.level_at(nov2023.ANCHORS[0][0] + timedelta(seconds=offset))
        return base * self.scale + self.wobble_m * math.sin(sim_t / 777.0)


