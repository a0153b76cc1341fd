"""QARTOD-style quality control of one water-level reading, as pure functions over recent history.

Flags follow QARTOD (US IOOS): 1 pass, 2 not evaluated, 3 suspect, 4 fail, 9 missing. Tests are
real-time versions of the QARTOD water-level tests: gross range, spike (against the median of the
last three samples, so a lone spike does not become the reference), rate of change, flat line.
Timestamp plausibility is checked too: a sensor clock far off cannot be placed on a chart or a trend.
"""

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass

PASS, NOT_EVALUATED, SUSPECT, FAIL, MISSING = 1, 2, 3, 4, 9


@dataclass(frozen=True)
class Sample:
    """One level at a time (unix seconds); ``level_m`` None when the sensor gave no level."""

    t: float
    level_m: float | None


@dataclass(frozen=True)
class QcLimits:
    """Thresholds of the tests, per station."""

    fail_min_m: float  # outside the sensor's physical span: impossible
    fail_max_m: float
    suspect_min_m: float  # outside what this river has done: possible, but check
    suspect_max_m: float
    spike_suspect_m: float = 0.30
    spike_fail_m: float = 1.00
    spike_max_gap_s: float = 3600.0  # after a longer silence a big change is no spike
    roc_suspect_m_per_h: float = 1.50
    flat_suspect_n: int = 12
    flat_fail_n: int = 24
    flat_tolerance_m: float = 0.0005
    future_tolerance_s: float = 300.0
    past_tolerance_s: float = 7 * 86400.0  # a node keeps unsent readings in flash for days


@dataclass(frozen=True)
class Qc:
    """The overall flag, each test's flag, and the worst test's name (None when it passed)."""

    flag: int
    tests: dict[str, int]
    reason: str | None

    @property
    def usable(self) -> bool:
        """Only a passing reading may move alert state or trends."""
        return self.flag == PASS


def limits_for(datum_m: float, record_m: float | None) -> QcLimits:
    """Default limits: the sensor cannot see water above itself or 2 m below gauge zero."""
    top = record_m + 1.5 if record_m is not None else datum_m
    return QcLimits(fail_min_m=-2.0, fail_max_m=datum_m, suspect_min_m=-1.0, suspect_max_m=min(top, datum_m))


def gross_range(lim: QcLimits, level: float) -> int:
    """QARTOD gross range: fail outside the sensor span, suspect outside the river's climatology."""
    if not lim.fail_min_m <= level <= lim.fail_max_m:
        return FAIL
    if not lim.suspect_min_m <= level <= lim.suspect_max_m:
        return SUSPECT
    return PASS


def spike(lim: QcLimits, history: Sequence[Sample], s: Sample, level: float) -> int:
    """Jump away from the median of the last three levels within ``spike_max_gap_s``."""
    recent = [h.level_m for h in history[-3:] if h.level_m is not None and s.t - h.t <= lim.spike_max_gap_s]
    if not recent:
        return NOT_EVALUATED
    jump = abs(level - statistics.median(recent))
    return FAIL if jump >= lim.spike_fail_m else SUSPECT if jump >= lim.spike_suspect_m else PASS


def rate_of_change(lim: QcLimits, history: Sequence[Sample], s: Sample, level: float) -> int:
    """Faster than a river can move since the previous level: suspect (QARTOD flags it no worse)."""
    prev = next((h for h in reversed(history) if h.level_m is not None), None)
    if prev is None or prev.level_m is None or s.t <= prev.t:
        return NOT_EVALUATED
    rate = abs(level - prev.level_m) / ((s.t - prev.t) / 3600.0)
    return SUSPECT if rate > lim.roc_suspect_m_per_h else PASS


def flat_line(lim: QcLimits, history: Sequence[Sample], level: float) -> int:
    """The same value over and over: a stuck sensor (a real river always wobbles by a millimetre)."""
    run = 1
    for h in reversed(history):
        if h.level_m is None or abs(h.level_m - level) > lim.flat_tolerance_m:
            break
        run += 1
    return FAIL if run >= lim.flat_fail_n else SUSPECT if run >= lim.flat_suspect_n else PASS


def timestamp(lim: QcLimits, sensor_t: float, heard_t: float) -> int:
    """The sensor's clock against the time the gateway heard the frame."""
    if sensor_t - heard_t > lim.future_tolerance_s or heard_t - sensor_t > lim.past_tolerance_s:
        return FAIL
    return PASS


def assess(lim: QcLimits, history: Sequence[Sample], s: Sample, heard_t: float | None = None) -> Qc:
    """Every test on one new sample against the sensor's earlier samples (oldest first)."""
    tests: dict[str, int] = {}
    if heard_t is not None:
        tests["timestamp"] = timestamp(lim, s.t, heard_t)
    level = s.level_m
    if level is None or math.isnan(level) or math.isinf(level):
        tests["missing"] = MISSING
    else:
        tests["gross_range"] = gross_range(lim, level)
        tests["spike"] = spike(lim, history, s, level)
        tests["rate_of_change"] = rate_of_change(lim, history, s, level)
        tests["flat_line"] = flat_line(lim, history, level)
    worst = max(tests, key=lambda name: _severity(tests[name]))
    flag = tests[worst]
    if flag == NOT_EVALUATED:
        flag = PASS if any(v == PASS for v in tests.values()) else NOT_EVALUATED
    return Qc(flag, tests, None if flag in (PASS, NOT_EVALUATED) else worst)


def _severity(flag: int) -> int:
    # Missing beats fail beats suspect; "not evaluated" ranks below a pass so it never hides one.
    return {NOT_EVALUATED: 0, PASS: 1, SUSPECT: 2, FAIL: 3, MISSING: 4}[flag]
