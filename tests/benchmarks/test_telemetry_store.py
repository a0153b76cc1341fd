"""The telemetry_store benchmark runs end to end and reports the figures it promises."""

import shutil

import pytest

from benchmarks import telemetry_store


@pytest.mark.integration
def test_telemetry_store_benchmark_reports_ratios() -> None:
    for exe in ("mosquitto", "mosquitto_pub", "mosquitto_sub", "victoria-metrics"):
        if shutil.which(exe) is None and shutil.which(exe, path="/usr/sbin") is None:
            pytest.fail(f"{exe} is not installed: the setup installs it")
    result = telemetry_store.run(n=300)
    assert result["readings"] == 300
    for key in ("ratio_sqlite", "ratio_influx", "rules_us_per_reading"):
        value = result[key]
        assert isinstance(value, float)
        assert value > 0, key
