"""QARTOD-style quality flags: each test on its own, then the overall flag."""

import math

import pytest

from central.telemetry import quality
from central.telemetry.quality import FAIL, MISSING, NOT_EVALUATED, PASS, SUSPECT, Sample

LIM = quality.limits_for(datum_m=8.0, record_m=5.81)


def steady(n: int, start: float = 1.0, step_s: float = 300.0) -> list[Sample]:
    """n samples rising a millimetre each, 5 minutes apart."""
    return [Sample(i * step_s, round(start + i * 0.001, 3)) for i in range(n)]


@pytest.mark.unit
def test_gross_range_fails_outside_sensor_span_and_suspects_outside_climatology() -> None:
    assert quality.gross_range(LIM, 2.0) == PASS
    assert quality.gross_range(LIM, 7.6) == SUSPECT  # above the 1999 record + 1.5 m, below the sensor
    assert quality.gross_range(LIM, 8.5) == FAIL  # water above the sensor cannot be measured
    assert quality.gross_range(LIM, -57.5) == FAIL  # distance 65 535 mm: no echo


@pytest.mark.unit
def test_spike_against_median_of_last_three() -> None:
    hist = steady(5)
    t = hist[-1].t + 300
    assert quality.spike(LIM, hist, Sample(t, 1.01), 1.01) == PASS
    assert quality.spike(LIM, hist, Sample(t, 1.5), 1.5) == SUSPECT
    assert quality.spike(LIM, hist, Sample(t, 3.0), 3.0) == FAIL
    # one spike does not become the reference: the next normal value passes
    spiked = [*hist, Sample(t, 3.0)]
    assert quality.spike(LIM, spiked, Sample(t + 300, 1.006), 1.006) == PASS
    # after a long silence a big change is no spike
    assert quality.spike(LIM, hist, Sample(t + 6 * 3600, 2.0), 2.0) == NOT_EVALUATED


@pytest.mark.unit
def test_rate_of_change() -> None:
    hist = steady(3)
    t = hist[-1].t + 3600
    assert quality.rate_of_change(LIM, hist, Sample(t, 1.402), 1.402) == PASS  # 0.4 m/h: a flood, not a fault
    assert quality.rate_of_change(LIM, hist, Sample(t, 3.2), 3.2) == SUSPECT
    assert quality.rate_of_change(LIM, [], Sample(t, 3.2), 3.2) == NOT_EVALUATED


@pytest.mark.unit
def test_flat_line_is_a_stuck_sensor() -> None:
    stuck = [Sample(i * 300.0, 2.345) for i in range(30)]
    assert quality.flat_line(LIM, stuck[:5], 2.345) == PASS
    assert quality.flat_line(LIM, stuck[: LIM.flat_suspect_n - 1], 2.345) == SUSPECT
    assert quality.flat_line(LIM, stuck[: LIM.flat_fail_n - 1], 2.345) == FAIL
    assert quality.flat_line(LIM, stuck, 2.346) == PASS  # a millimetre of wobble: alive


@pytest.mark.unit
def test_timestamps_far_in_future_or_past_fail() -> None:
    heard = 1_700_000_000.0
    assert quality.timestamp(LIM, heard - 3600, heard) == PASS  # sent late from flash
    assert quality.timestamp(LIM, heard + 3600, heard) == FAIL
    assert quality.timestamp(LIM, heard - 30 * 86400, heard) == FAIL


@pytest.mark.unit
@pytest.mark.parametrize("bad", [None, math.nan, math.inf])
def test_missing_or_nan_level_is_flagged_missing(bad: float | None) -> None:
    qc = quality.assess(LIM, steady(5), Sample(1500.0, bad))
    assert (qc.flag, qc.reason, qc.usable) == (MISSING, "missing", False)


@pytest.mark.unit
def test_overall_flag_is_the_worst_test() -> None:
    hist = steady(5)
    good = quality.assess(LIM, hist, Sample(1500.0, 1.006), heard_t=1500.0)
    assert (good.flag, good.reason, good.usable) == (PASS, None, True)
    first = quality.assess(LIM, [], Sample(0.0, 1.0))
    assert first.flag == PASS  # nothing to compare with yet, but the range test passed
    spike = quality.assess(LIM, hist, Sample(1500.0, 3.0))
    assert (spike.flag, spike.reason, spike.tests["gross_range"]) == (FAIL, "spike", PASS)
    late = quality.assess(LIM, hist, Sample(1500.0, 1.006), heard_t=1500.0 + 30 * 86400)
    assert (late.flag, late.reason) == (FAIL, "timestamp")
