"""``python -m benchmarks sos_latency`` end to end with a handful of SOS: every one ACKed, the load real."""

from pathlib import Path

import pytest

from benchmarks import sos_latency

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_the_benchmark_runs_through_the_real_processes_and_every_sos_is_acked(tmp_path: Path) -> None:
    plot = tmp_path / "sos_latency.png"
    result = sos_latency.run(sos_per_phase=4, loads_per_s=[300, 600], plot=plot)
    assert result["acked"] == 12  # 4 idle, 4 under each load; a missing ACK raises instead
    assert result["load_readings"] == result["qc_passed"] == result["rules_evaluated"]
    assert int(str(result["load_readings"])) >= 900  # each load ran for at least a second
    for phase in ("idle_ms", "load_300_ms", "load_600_ms", "broker_rtt_ms"):
        figures = result[phase]
        assert isinstance(figures, dict)
        assert 0 < figures["p50"] <= figures["p99"] <= figures["max"]
    for phase in ("idle_ms", "load_300_ms", "load_600_ms"):
        # Where the time went: every SOS timed at the broker on its way up and on its ACK's way down.
        stages = result[phase]["stages_ms"]  # type: ignore[index]
        assert set(stages) == {"gateway_up", "central", "gateway_down"}
        assert all(stage["p50"] > 0 for stage in stages.values())
    assert len(result["broker_rtt_runs_ms"]) == 3  # type: ignore[arg-type]
    assert result["broker_rtt_ms"]["p99"] == min(r["p99"] for r in result["broker_rtt_runs_ms"])  # type: ignore[index,union-attr]
    assert set(result) >= {"ratio_p99_idle", "ratio_p99_load_300", "ratio_p99_load_600"}
    assert plot.read_bytes().startswith(b"\x89PNG")
