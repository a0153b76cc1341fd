"""The national_load benchmark runs end to end on a small load and reports the figures it promises."""

from pathlib import Path

import pytest

from benchmarks import national_load


@pytest.mark.integration
def test_national_load_stores_every_reading_answers_every_sos_on_every_replica(tmp_path: Path) -> None:
    result = national_load.run(seconds=4, rate=250, replicas=2, sos_count=20, plot=tmp_path / "national.png")
    assert (result["readings"], result["qc_passed"], result["rules_evaluated"]) == (1000, 1000, 1000)
    assert (result["sos"], result["sos_acked"]) == (20, 20)
    assert result["replicas_used"] == 2  # the shared subscription gave both replicas their share
    for key in ("readings_per_s", "ratio", "sos_p99_ms", "ratio_sos_p99", "broker_msgs_per_s"):
        value = result[key]
        assert isinstance(value, float)
        assert value > 0, key
    assert (tmp_path / "national.png").read_bytes().startswith(b"\x89PNG")
