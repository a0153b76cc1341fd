"""The flood wave rises to its crest and recedes."""

import pytest

from simulations.hydrograph import FloodWave

pytestmark = pytest.mark.unit


def test_wave_shape() -> None:
    wave = FloodWave(base_m=0.5, crest_m=4.0, start_at=1000.0, duration_s=200.0)
    assert wave.level_at(900.0) == 0.5
    assert wave.level_at(wave.crest_at) == pytest.approx(4.0)
    assert wave.level_at(1050.0) == pytest.approx(2.25)
    assert wave.level_at(1050.0) < wave.level_at(1080.0)
    assert wave.level_at(1300.0) == 0.5
