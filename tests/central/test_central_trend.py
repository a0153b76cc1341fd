"""TrendWindow: the incremental window and slope equal the from-scratch ones, in and out of order."""

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from central.telemetry.rules import RuleConfig, trend_m_per_h, window_trend_m_per_h
from central.telemetry.trend import Point, TrendWindow

CFG = RuleConfig()
SPAN_S = CFG.trend_window_s
T0 = 1_700_000_000.0  # real sensor clocks: t² is ~3e18, where naive running sums lose every digit

levels = st.floats(min_value=-2.0, max_value=9.0, allow_nan=False)
in_order_steps = st.lists(st.tuples(st.floats(min_value=0.0, max_value=1200.0), levels), min_size=1, max_size=400)
# A negative step is a late reading: up to a whole window and more behind the newest one.
any_steps = st.lists(
    st.tuples(st.floats(min_value=-2.0 * SPAN_S, max_value=1200.0), levels), min_size=1, max_size=400
)


def _reference(points: list[Point]) -> list[Point]:
    """Every point heard, in time order, within the span of the newest."""
    latest = max(t for t, _ in points)
    return sorted(p for p in points if p[0] >= latest - SPAN_S)


def _check_stream(steps: list[tuple[float, float]]) -> None:
    window, heard, t = TrendWindow(), list[Point](), T0
    latest = T0
    for step, level in steps:
        t = latest + step if step < 0 else t + step  # a late reading lands behind the newest one
        latest = max(latest, t)
        window = window.added(t, level, SPAN_S)
        heard.append((t, level))
        ref = _reference(heard)
        assert sorted(window.points) == ref
        assert list(window.packed()) == [x for point in window.points for x in point]  # what rule_state stores
        expected, got = trend_m_per_h(ref, CFG), window_trend_m_per_h(window, CFG)
        assert (expected is None) == (got is None), (expected, got)
        if expected is not None and got is not None:
            # Relative to the slope's own scale (the level's range over the window's span), so a flat
            # window whose true slope is ~0 is held to the same 1e-9 as a steep one; a range below a
            # micrometre (sensors resolve millimetres) counts as a micrometre.
            values = [v for _, v in ref]
            scale = max(max(values) - min(values), 1e-6) / (ref[-1][0] - ref[0][0]) * 3600.0
            assert math.isclose(got, expected, rel_tol=1e-9, abs_tol=1e-9 * scale), (got, expected)


@pytest.mark.unit
@settings(max_examples=150, deadline=None)
@given(in_order_steps)
def test_incremental_trend_equals_least_squares_in_order(steps: list[tuple[float, float]]) -> None:
    _check_stream(steps)


@pytest.mark.unit
@settings(max_examples=150, deadline=None)
@given(any_steps)
def test_incremental_trend_equals_least_squares_out_of_order(steps: list[tuple[float, float]]) -> None:
    _check_stream(steps)


@pytest.mark.unit
def test_a_window_never_changes_once_made() -> None:
    """An older window extended again (a state restored after a failed batch) leaves the newer one alone."""
    base = TrendWindow()
    for i in range(10):
        base = base.added(T0 + 600 * i, 1.0 + 0.01 * i, SPAN_S)
    newer = base.added(T0 + 6000, 2.0, SPAN_S)
    snapshot, packed = newer.points, newer.packed()
    replayed = base.added(T0 + 6000, 3.0, SPAN_S)
    assert (newer.points, newer.packed()) == (snapshot, packed)
    assert (newer.last, replayed.last) == ((T0 + 6000, 2.0), (T0 + 6000, 3.0))
    assert base.last == (T0 + 5400, 1.09)


@pytest.mark.unit
def test_old_points_leave_the_window_and_memory() -> None:
    window, rebuilds = TrendWindow(), 0
    for i in range(5000):  # a reading a minute for three and a half days
        previous = window
        window = window.added(T0 + 60 * i, 1.0, SPAN_S)
        rebuilds += window._log is not previous._log
    assert len(window) == SPAN_S / 60 + 1
    assert rebuilds <= 2 * 5000 / len(window) + 2  # O(window) work at most once per window's worth: O(1) amortised
    assert len(window._log.points) <= 2 * len(window) + 1  # the log is compacted, not kept forever
