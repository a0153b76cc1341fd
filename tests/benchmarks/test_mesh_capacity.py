"""The mesh capacity benchmark's machinery on a tiny run: one JSON-ready dict, a plot, ALOHA by hand."""

import json
import math
from pathlib import Path

import pytest

from benchmarks import mesh_capacity

pytestmark = pytest.mark.unit


def test_button_sends_eight_times_in_the_five_minute_deadline() -> None:
    # 0, 5, 15, 35, 75, 135, 195, 255 s: firmware/sos_button.py's schedule.
    assert mesh_capacity.sends_before_deadline() == 8


def test_aloha_baseline_meets_the_threshold_exactly_at_its_capacity() -> None:
    n = mesh_capacity.aloha_capacity("LONG_FAST")
    g_max = -math.log(1 - 0.01 ** (1 / 8)) / 2
    assert g_max == pytest.approx(0.413, abs=0.001)
    assert 100 < n < 5000
    assert mesh_capacity.aloha_capacity("MEDIUM_FAST") > n  # shorter frames, more nodes


def test_a_tiny_run_reports_capacity_and_writes_its_plot(tmp_path: Path) -> None:
    plot = tmp_path / "capacity.png"
    result = mesh_capacity.run(presets=("SHORT_FAST",), seeds=(1,), sim_s=120.0, start=8, max_nodes=16, plot_path=plot)
    json.dumps(result)
    assert result["name"] == "mesh_capacity"
    preset = result["presets"]["SHORT_FAST"]  # type: ignore[index]
    assert preset["points"][0]["nodes"] == 8
    assert result["capacity_nodes"] == {"SHORT_FAST": preset["capacity_nodes"]}  # type: ignore[index]
    assert plot.stat().st_size > 1000
    assert preset["capacity_is_lower_bound"] == (preset["first_failing_nodes"] is None)  # type: ignore[index]


def test_telemetry_90_is_the_largest_point_that_kept_its_readings() -> None:
    points = [{"nodes": n, "telemetry_delivered": t} for n, t in ((50, 1.0), (100, 0.95), (200, 0.5))]
    assert mesh_capacity.PresetCapacity(200, None, points).telemetry_90_nodes == 100
    assert mesh_capacity.PresetCapacity(200, None, points[2:]).telemetry_90_nodes is None
