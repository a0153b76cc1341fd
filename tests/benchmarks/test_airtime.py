"""The airtime and battery calculator: Semtech's formula by hand, and the report's shape."""

import pytest

from benchmarks import airtime

pytestmark = pytest.mark.unit


def test_long_fast_time_on_air_by_hand() -> None:
    # SF11/250 kHz: 8.192 ms symbols; 47 bytes -> 8 + ceil(376/44) * 5 = 53 payload symbols, + 20.25.
    assert airtime.airtime_s(47) == pytest.approx(73.25 * 0.008192)


def test_low_data_rate_optimisation_above_16_ms_symbols() -> None:
    # SF12/125 kHz CR 4/8: 32.768 ms symbols, DE on: 8 + ceil((160 - 48 + 44) / 40) * 8 = 40 symbols.
    assert airtime.airtime_s(20, "LONG_SLOW") == pytest.approx((16 + 4.25 + 40) * 0.032768)


def test_airtime_grows_with_payload_and_spreading_factor() -> None:
    assert airtime.airtime_s(10) < airtime.airtime_s(60)
    assert airtime.airtime_s(40, "SHORT_FAST") < airtime.airtime_s(40, "LONG_FAST") < airtime.airtime_s(40, "LONG_SLOW")


def test_report_meets_the_issue_goals() -> None:
    r = airtime.run()
    assert r["bytes_on_air"]["ours_single"] == 16 + 3 + 2 + 2 + 24  # type: ignore[index]
    assert r["bytes_on_air"]["ours_batch_12"] == 16 + 3 + 2 + 2 + 49  # the real WaterLevelBatch frame  # type: ignore[index]
    assert float(r["airtime_ratio_vs_meshtastic"]) <= 0.3  # type: ignore[arg-type]
    assert float(r["button_standby_years"]) >= 2  # type: ignore[arg-type]
    assert float(r["mp_unix_cycle_us"]) > 0  # type: ignore[arg-type]
    # The figures are for a power-gated, deep-sleeping, batching node: the config keys the firmware reads.
    cfg = r["models_config"]
    assert cfg == {"kind": "water_level", "interval_s": 300, "deep_sleep": True, "batch": 12,  # type: ignore[comparison-overlap]
                   "radio_power_pin": "set (radio behind a load switch)", "radio_boot_ms": 2000, "listen_ms": 3000}


def test_water_node_battery_goal_12_months() -> None:
    # Batches of twelve in calm water, the ESP32 light-sleeping (0.8 mA) through the radio's 2 s boot.
    r = airtime.run()
    assert float(r["water_node_battery_months"]) >= 12  # type: ignore[arg-type]
    # Every reading alone (short intervals, fast rises) costs a radio session each: far shorter.
    assert float(r["water_node_battery_months_unbatched"]) < float(r["water_node_battery_months"])  # type: ignore[arg-type]


def test_light_sleep_through_the_radio_boot_is_what_the_model_counts(monkeypatch: pytest.MonkeyPatch) -> None:
    # The same node awake (40 mA) through the radio's boot, as before firmware/main.py light-slept.
    light = float(airtime.run()["water_node_battery_months"])  # type: ignore[arg-type]
    monkeypatch.setattr(airtime, "I_ESP32_LIGHT_SLEEP", airtime.I_ESP32_ACTIVE)
    assert float(airtime.run()["water_node_battery_months"]) < light  # type: ignore[arg-type]
