"""The report's assembly: the page, its goals table, the accountability comparison, the summary file."""

import json
from pathlib import Path

import pytest

from simulations.hue2023 import report
from simulations.hue2023.airwaves import WardAir
from simulations.hue2023.outcomes import IncidentView

pytestmark = pytest.mark.unit


def test_the_page_marks_each_goal_met_or_not_and_the_summary_file_is_the_summary(tmp_path: Path) -> None:
    summary: dict[str, object] = {"scenario": {"hours": 2}, "sos_delivered_ratio": 0.98, "local_ack_30s_ratio": 1.0,
                                  "duplicate_cases": 0, "merged_after_reconnect_ratio": 1.0,
                                  "accountability_matches": False, "alert_lag_max_s": 120.0}
    views = [IncidentView("19813", 1, 0.0, False, heard_s=3.0, hops=1, button_acked_s=9.0),
             IncidentView("19813", 2, 0.0, True, heard_s=30.0, hops=2, button_acked_s=40.0)]
    air = WardAir("19813", 10, 2, 1.0, channel_util=[(60.0, 0.1), (120.0, 0.3)])
    plots = [report.plot_latency_by_hops(views, tmp_path), report.plot_button_ack(views, tmp_path),
             report.plot_channel_util({"19813": air}, tmp_path)]
    table = report.accountability_html({"19813": {"received": 2}}, {"19813": {"received": 3}})
    page = report.write_report(tmp_path, summary, plots, table, ["gateway retry_s: floored"]).read_text()
    assert json.loads((tmp_path / "summary.json").read_text()) == summary
    assert all(p.exists() and p.stat().st_size > 1000 for p in plots)
    assert all(f'src="{p.name}"' in page for p in plots)
    assert "<td>sos_delivered_ratio</td><td>≥ 0.999</td><td>0.98</td><td class=bad>not met" in page
    assert "<td>local_ack_30s_ratio</td><td>= 1.0</td><td>1.0</td><td class=ok>met" in page
    assert "<td class=bad>3 / 2</td>" in page  # central's received differs from the ledger's
    assert "gateway retry_s: floored" in page
