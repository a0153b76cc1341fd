"""``python -m simulations.mesh``: a short run prints its summary, the JSON line last, plots and progress."""

import io
import json
from pathlib import Path

import pytest

from simulations.mesh.__main__ import ProgressBar, main

pytestmark = pytest.mark.unit


def test_a_short_run_prints_metrics_as_the_last_json_line(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    argv = ["--ward", "19774", "--hours", "0.1", "--seed", "7", "--buttons", "40", "--sensors", "2",
            "--sos-per-button-hour", "1", "--summary-json", "--plots", str(tmp_path)]
    assert main(argv) == 0
    out, err = capsys.readouterr()
    summary = json.loads(out.strip().splitlines()[-1])
    assert summary["ward"] == "19774"
    assert summary["preset"] == "LONG_FAST"
    assert summary["nodes"] == 1 + 2 + 3 + 40
    assert summary["sos_sent"] > 0
    assert 0.0 <= summary["sos_delivered_ratio"] <= 1.0
    for key in ("reachability", "usefulness", "collision_rate", "channel_util_gateway_max", "sos_latency_by_hops"):
        assert key in summary
    assert "100.0%" in err  # the progress bar finished
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "mesh_19774_LONG_FAST_sos_latency.png", "mesh_19774_LONG_FAST_utilisation.png"]


def test_an_unknown_ward_exits_2_with_a_hint(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--ward", "1", "--hours", "0.01"]) == 2
    assert "2025 GSO code" in capsys.readouterr().err


def test_progress_bar_off_a_terminal_prints_each_tenth_once() -> None:
    stream = io.StringIO()
    bar = ProgressBar(100.0, stream, "t")
    for done in range(0, 101, 5):
        bar.update(float(done))
    assert len(stream.getvalue().splitlines()) == 11
