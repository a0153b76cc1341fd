"""Simulated time against real time, and the processes' timers scaled with it (floored where they must be)."""

import json

import pytest

from central.core.config import DATA_DIR
from simulations.hue2023.time_scale import TimeScale, plan_timers, scale_deadlines, sim_epoch_for

pytestmark = pytest.mark.unit
DEADLINES = json.loads((DATA_DIR / "deadlines.json").read_text(encoding="utf-8"))


def test_simulated_and_real_time_map_both_ways() -> None:
    scale = TimeScale(720.0, real_start=100.0, sim_epoch=1_000.0)
    assert scale.sim_at(101.0) == 720.0
    assert scale.real_at(scale.sim_at(123.4)) == pytest.approx(123.4)
    assert scale.unix(720.0) == 1_720.0


def test_the_nodes_clocks_never_run_ahead_of_real_time() -> None:
    # The window's end is mapped to the moment the run starts: every node_ts is in the past.
    epoch = sim_epoch_for(unix_now=1_800_000_000.0, duration_s=72 * 3600)
    assert epoch + 72 * 3600 <= 1_800_000_000.0


def test_timers_are_divided_by_the_factor_until_their_floor() -> None:
    slow = plan_timers(10.0, DEADLINES)
    assert slow.gateway["autonomy_after_s"] == 3.0
    assert slow.gateway["retry_s"] == 2.0
    fast = plan_timers(720.0, DEADLINES)
    assert fast.gateway == {"autonomy_after_s": 2.0, "retry_s": 2.0, "status_interval_s": 1.0}
    assert fast.central == {"deadline_check_s": 0.5}
    # Each floored timer says what it costs in simulated time, and the unscalable ones are named.
    assert any("autonomy_after_s" in n and "1440 simulated s" in n for n in fast.notes)
    assert any("keepalive" in n for n in fast.notes)
    assert any("merge window" in n for n in fast.notes)


def test_deadlines_are_scaled_and_short_ones_floored() -> None:
    scaled, floored = scale_deadlines(DEADLINES, 720.0)
    assert scaled["dispatched"]["default"] == pytest.approx(21600 / 720)
    assert scaled["registered"]["default"] == 1.0
    assert floored == 3
    assert scaled["_comment"] == DEADLINES["_comment"]


def test_a_factor_below_one_is_refused() -> None:
    with pytest.raises(ValueError, match="speed factor"):
        TimeScale(0.5, 0.0, 0.0)
