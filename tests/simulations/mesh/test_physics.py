"""LoRa physics against worked values: Semtech's time on air, Hata path loss by hand, the slot time."""

import math
import random
import statistics

import pytest

from simulations.mesh import physics
from simulations.mesh.physics import PRESETS, REGIONS, TERRAINS, time_on_air_s

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("preset", "expected_s"),
    [
        # MESH-SIM.md's table: a 40-byte payload behind Meshtastic's 16-byte header, correct CR term.
        ("SHORT_FAST", 0.058),
        ("MEDIUM_FAST", 0.191),
        ("LONG_FAST", 0.682),
        ("LONG_MODERATE", 2.17),
        ("LONG_SLOW", 4.07),
    ],
)
def test_time_on_air_of_a_40_byte_payload_per_preset(preset: str, expected_s: float) -> None:
    assert time_on_air_s(40, PRESETS[preset]) == pytest.approx(expected_s, abs=0.0015 * max(1, expected_s * 10))


def test_long_fast_time_on_air_symbol_by_symbol() -> None:
    # 56 bytes on SF11/250 kHz: 8 + ceil((448 - 44 + 44) / 44) * 5 = 63 payload symbols + 20.25 preamble.
    assert time_on_air_s(40, PRESETS["LONG_FAST"]) == pytest.approx((16 + 4.25 + 63) * 2**11 / 250_000)


@pytest.mark.parametrize(
    ("sf", "expected_ms"),
    # LoRaWAN airtime calculator values for 51 bytes, 125 kHz, CR 4/5, 8-symbol preamble.
    [(7, 102.66), (12, 2465.79)],
)
def test_time_on_air_matches_the_lorawan_calculator(sf: int, expected_ms: float) -> None:
    preset = physics.ModemPreset("lorawan", sf, 125_000, 5, -130.0)
    toa = time_on_air_s(51, preset, with_meshtastic_header=False, preamble_symbols=8)
    assert toa * 1000 == pytest.approx(expected_ms, abs=0.01)


def test_slot_time_on_long_fast_is_current_firmwares() -> None:
    # 2.5 symbols of CAD (SX126x, RadioLib >= 6.3) + 0.2 + 0.4 + 7 ms.
    assert physics.slot_time_s(PRESETS["LONG_FAST"]) == pytest.approx(2.5 * 0.008192 + 0.0076)


def test_hata_path_loss_at_one_kilometre_by_hand() -> None:
    f = REGIONS["VN"].centre_hz  # 921.5 MHz
    # Base 12 m, mobile 1.5 m, suburban (C = 0): 45.5 + 33.81*log10(921.5) - 13.82*log10(12) + 1.05.
    expected = 45.5 + (35.46 - 1.65) * math.log10(921.5) - 13.82 * math.log10(12) + 1.05
    assert TERRAINS["suburban"].path_loss_db(1000, f, 12, 1.5) == pytest.approx(expected)
    assert expected == pytest.approx(131.87, abs=0.01)
    # Each decade of distance costs 44.9 - 6.55*log10(12) dB; urban adds 3 dB.
    per_decade = TERRAINS["suburban"].path_loss_db(10_000, f, 12, 1.5) - expected
    assert per_decade == pytest.approx(44.9 - 6.55 * math.log10(12))
    assert TERRAINS["urban"].path_loss_db(1000, f, 12, 1.5) == pytest.approx(expected + 3)


def test_path_loss_exponent_is_about_4_5_with_both_antennas_at_one_metre() -> None:
    f = 920e6
    per_decade = TERRAINS["suburban"].path_loss_db(2000, f, 1, 1) - TERRAINS["suburban"].path_loss_db(200, f, 1, 1)
    assert per_decade / 10 == pytest.approx(4.49, abs=0.01)


def test_path_loss_is_reciprocal_and_a_roof_antenna_gains() -> None:
    f = 920e6
    suburban = TERRAINS["suburban"]
    assert suburban.path_loss_db(1500, f, 12, 1.5) == suburban.path_loss_db(1500, f, 1.5, 12)
    assert suburban.path_loss_db(1500, f, 12, 1.5) < suburban.path_loss_db(1500, f, 1.5, 1.5) - 10


def test_log_distance_model_uses_lorasims_constants() -> None:
    open_country = TERRAINS["open"]
    assert open_country.path_loss_db(40, 868e6, 1, 1) == pytest.approx(127.41)
    assert open_country.path_loss_db(400, 868e6, 1, 1) == pytest.approx(127.41 + 20.8)


def test_vietnam_duty_cycle_applies_only_above_10_mw() -> None:
    vn = REGIONS["VN"]
    assert vn.duty_cycle_for(14.0) == 1.0
    assert vn.duty_cycle_for(10.0) == 100.0
    assert REGIONS["KR"].duty_cycle_for(23.0) == 100.0


def test_shadowing_is_gaussian_with_the_given_sigma() -> None:
    rng = random.Random(1)
    draws = [physics.draw_shadowing_db(rng, 3.0) for _ in range(4000)]
    assert abs(statistics.fmean(draws)) < 0.2
    assert statistics.stdev(draws) == pytest.approx(3.0, abs=0.15)
