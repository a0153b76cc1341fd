"""``python -m benchmarks sos_latency`` end to end with a handful of SOS: every one ACKed, the load real."""

from pathlib import Path

import pytest

from benchmarks import sos_latency

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_the_benchmark_runs_through_the_real_processes_and_every_sos_is_acked(tmp_path: Path) -> None:
    plot = tmp_path / "sos_latency.png"
    result = sos_latency.run(sos_per_phase=4, load_per_s=300, plot=plot)
    assert result["acked"] == 8  # 4 idle, 4 under load; a missing ACK raises instead
    assert result["load_readings"] == result["qc_passed"] == result["rules_evaluated"]
    assert int(str(result["load_readings"])) >= 300  # the load ran for at least a second
    for phase in ("idle_ms", "load_ms", "broker_rtt_ms"):
        figures = result[phase]
        assert isinstance(figures, dict)
        assert 0 < figures["p50"] <= figures["p99"] <= figures["max"]
    assert plot.read_bytes().startswith(b"\x89PNG")
