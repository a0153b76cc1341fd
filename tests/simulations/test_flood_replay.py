"""The 2023 flood replayed fast: gauge clocks never run ahead of now, and rises stay real."""

import itertools

import pytest

from central.telemetry import nov2023
from simulations.flood_replay import READING_EVERY_S, REPLAY_S, ReplayClock, StationReplay

pytestmark = pytest.mark.unit


def test_the_clock_replays_five_days_then_runs_in_real_time() -> None:
    clock = ReplayClock(real_start=1_000_000.0, speed=REPLAY_S / 120)
    assert clock(1_000_000.0) == clock.sim_start == 1_000_000.0 - REPLAY_S
    assert clock(1_000_060.0) == pytest.approx(clock.sim_start + REPLAY_S / 2)
    assert clock(1_000_120.0) == pytest.approx(1_000_000.0)  # the replay has reached the start of the run
    assert clock(1_000_121.0) == pytest.approx(1_000_121.0)  # and the gauges now keep real time
    assert all(clock(1_000_000.0 + t) <= 1_000_000.0 + t for t in range(0, 300, 7))


def test_the_kim_long_replay_crests_as_in_2023_and_rises_no_faster() -> None:
    clock = ReplayClock(real_start=2_000_000.0, speed=REPLAY_S / 120)
    station = StationReplay(clock)
    crest_t = clock.sim_start + (nov2023.PEAK_AT - nov2023.ANCHORS[0][0]).total_seconds()
    assert station.level_at(crest_t) == pytest.approx(nov2023.PEAK_M, abs=0.003)
    levels = [station.level_at(clock.sim_start + i * READING_EVERY_S) for i in range(int(REPLAY_S // READING_EVERY_S))]
    steepest = max(b - a for a, b in itertools.pairwise(levels)) * 3600 / READING_EVERY_S
    assert 0.3 < steepest < 1.5  # the morning of the 15th: fast, yet within the rate-of-change check


def test_other_stations_scale_and_lag() -> None:
    clock = ReplayClock(real_start=2_000_000.0, speed=1000)
    kim_long, downstream = StationReplay(clock), StationReplay(clock, scale=4.5 / 3.5, lag_s=3 * 3600)
    t = clock.sim_start + 50 * 3600
    assert downstream.level_at(t + 3 * 3600) == pytest.approx(kim_long.level_at(t) * 4.5 / 3.5, abs=0.01)
