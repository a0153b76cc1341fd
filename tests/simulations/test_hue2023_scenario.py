"""A short Huế 2023 scenario on the real processes (Mosquitto, central, two gateways): every SOS that
reached a gateway became exactly one case, and the report and its summary exist and agree.

Two hours over two wards (Kim Long's station ward and its neighbour) with 20 incidents, both wards cut
off for most of it: the same code path as the 72 h run (``floodmesh simulate hue-2023``), ~30 s.
Some residents press again while their ward is cut off: one household is still one case at central,
whether the press or the ward's case history reaches central first.
"""

import json
from pathlib import Path

import pytest

from floodmesh.broker import find_mosquitto
from simulations.hue2023.scenario import run_scenario
from simulations.hue2023.timeline import ScenarioConfig

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_a_short_flood_every_heard_sos_is_one_case_and_the_report_matches_its_summary(tmp_path: Path) -> None:
    if find_mosquitto() is None:
        pytest.fail("mosquitto is not installed: the test command's setup installs it (apt-get install mosquitto)")
    out = tmp_path / "report"
    summary = run_scenario(ScenarioConfig(hours=2, sos=20, seed=11, wards=("19813", "19774")), 720.0, out,
                           tmp_path / "work")
    run = summary["run"]
    assert isinstance(run, dict)
    assert run["processes_that_died"] == []
    assert run["drained"] is True
    assert summary["isolated_sos_heard"] != 0  # the wards were cut off while residents called
    assert summary["sos_to_central_of_delivered"] == 1.0
    assert summary["duplicate_cases"] == 0
    assert summary["cases_shared_by_incidents"] == 0
    assert summary["local_ack_30s_ratio"] == 1.0
    assert summary["merged_after_reconnect_ratio"] == 1.0
    assert summary["accountability_matches"] is True, summary["accountability_differences"]
    assert json.loads((out / "summary.json").read_text(encoding="utf-8")) == summary
    page = (out / "index.html").read_text(encoding="utf-8")
    for plot in ("sos_latency_by_hops", "button_ack", "alerts_vs_hydrograph", "channel_util", "outbox_depth"):
        assert (out / f"{plot}.png").stat().st_size > 1000
        assert f'src="{plot}.png"' in page
