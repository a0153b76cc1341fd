"""Flood hydrographs: water level at a station as a function of time, for virtual gauges."""

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class FloodWave:
    """A smooth rise from ``base_m`` to ``crest_m`` at ``crest_at``, then recession.

    The shape is a raised cosine of width ``duration_s`` centred on the crest: the level rises
    fastest half-way up, as on a real river after upstream rain and reservoir releases.
    """

    base_m: float
    crest_m: float
    start_at: float
    duration_s: float

    @property
    def crest_at(self) -> float:
        """When the wave crests."""
        return self.start_at + self.duration_s / 2

    def level_at(self, t: float) -> float:
        """Water level (m above gauge zero) at unix time ``t``."""
        x = (t - self.start_at) / self.duration_s
        if x <= 0 or x >= 1:
            return self.base_m
        return self.base_m + (self.crest_m - self.base_m) * (1 - math.cos(2 * math.pi * x)) / 2
