"""Flood rules as pure functions: crossings with hysteresis, rate of rise, ETA, and the Nov 2023 replay."""

from datetime import datetime

import pytest

from central.telemetry import nov2023, quality
from central.telemetry.alerts import ICT
from central.telemetry.rules import AlertEvent, FloodRules, RuleConfig, StationState, trend_m_per_h
from central.telemetry.stations import Station

RULES = FloodRules(RuleConfig(confirm_n=2, hysteresis_m=0.10))


def feed(station: Station, levels: list[float], step_s: float = 900.0) -> tuple[StationState, list[AlertEvent]]:
    state, events = StationState(), []
    for i, level in enumerate(levels):
        state, new = RULES.evaluate(station, state, i * step_s, level)
        events += new
    return state, events


@pytest.mark.unit
def test_level_raised_after_two_readings_and_cleared_only_below_hysteresis(stations: dict[str, Station]) -> None:
    kim_long = stations["kim_long"]
    state, events = feed(kim_long, [0.9, 1.0, 0.99, 1.01, 1.02])
    assert [(e.kind, e.level) for e in events] == [("level_raised", "BD1")]
    assert events[0].level_m == 1.02
    assert state.alert == "BD1"
    # Wobbling just under BĐ1 (within the 0.10 m hysteresis) clears nothing.
    state, events = feed(kim_long, [1.0, 1.0, 0.95, 0.92, 0.91, 0.95])
    assert (state.alert, [e.kind for e in events]) == ("BD1", ["level_raised"])
    state, events = feed(kim_long, [1.0, 1.0, 0.89, 0.88])
    assert [(e.kind, e.level) for e in events] == [("level_raised", "BD1"), ("level_cleared", "BD1")]
    assert state.alert == "none"


@pytest.mark.unit
def test_a_jump_over_two_levels_raises_both_in_order(stations: dict[str, Station]) -> None:
    _, events = feed(stations["phu_oc"], [1.0, 3.2, 3.3])
    assert [(e.kind, e.level) for e in events] == [
        ("level_raised", "BD1"), ("level_raised", "BD2"), ("rising_fast", "BD2")
    ]


@pytest.mark.unit
def test_rate_of_rise_alert_and_eta_to_next_level(stations: dict[str, Station]) -> None:
    kim_long = stations["kim_long"]
    # 0.4 m/h rise from 0.2 m, a reading every 15 minutes
    _, events = feed(kim_long, [round(0.2 + 0.1 * i, 2) for i in range(5)])
    (fast,) = events
    assert (fast.kind, fast.level, fast.next_level) == ("rising_fast", "none", "BD1")
    assert fast.rate_m_per_h == pytest.approx(0.4)
    assert fast.level_m == 0.4  # the third reading: the first with a trend
    assert fast.eta_next_s == pytest.approx((1.0 - 0.4) / 0.4 * 3600)
    # slow rise: no rate alert
    _, slow = feed(kim_long, [round(0.2 + 0.05 * i, 2) for i in range(8)])
    assert slow == []


@pytest.mark.unit
def test_trend_needs_enough_points_and_span() -> None:
    cfg = RuleConfig()
    assert trend_m_per_h([(0, 1.0), (600, 1.1)], cfg) is None
    assert trend_m_per_h([(0, 1.0), (1800, 1.1), (3600, 1.2)], cfg) == pytest.approx(0.2)


@pytest.mark.unit
def test_late_reading_refines_trend_but_decides_nothing(stations: dict[str, Station]) -> None:
    state, _ = feed(stations["kim_long"], [0.5, 0.5])
    state, events = RULES.evaluate(stations["kim_long"], state, 0.0, 3.0)
    assert (events, state.alert, len(state.window)) == ([], "none", 3)


@pytest.mark.unit
def test_a_flagged_reading_never_raises_an_alarm(stations: dict[str, Station]) -> None:
    """A spike to 5 m between calm readings fails QC, so the rules never see it."""
    kim_long = stations["kim_long"]
    lim = quality.limits_for(kim_long.datum_m, kim_long.record_m)
    history: list[quality.Sample] = []
    state, events = StationState(), []
    for i, level in enumerate([0.51, 0.52, 0.51, 5.0, 5.0, 0.52, 0.53]):
        sample = quality.Sample(i * 300.0, level)
        qc = quality.assess(lim, history, sample)
        history.append(sample)
        if qc.usable:
            state, new = RULES.evaluate(kim_long, state, sample.t, level)
            events += new
    assert (events, state.alert) == ([], "none")


def replay(station: Station) -> list[tuple[datetime, AlertEvent]]:
    """The Nov 2023 series through QC and the default rules, as the ingest runs them."""
    lim = quality.limits_for(station.datum_m, station.record_m)
    rules, state, history = FloodRules(), StationState(), list[quality.Sample]()
    out = []
    for moment, level in nov2023.series():
        sample = quality.Sample(moment.timestamp(), level)
        qc = quality.assess(lim, history[-32:], sample, heard_t=sample.t)
        history.append(sample)
        assert qc.usable, (moment, qc)
        state, events = rules.evaluate(station, state, sample.t, level)
        out += [(moment, e) for e in events]
    return out


@pytest.mark.unit
def test_nov_2023_replay_raises_bd1_bd2_bd3_in_order_and_clears_them(stations: dict[str, Station]) -> None:
    timeline = replay(stations["kim_long"])
    levels = [(e.kind, e.level) for _, e in timeline if e.kind.startswith("level")]
    assert levels == [
        ("level_raised", "BD1"), ("level_raised", "BD2"), ("level_raised", "BD3"),
        ("level_cleared", "BD3"), ("level_cleared", "BD2"), ("level_cleared", "BD1"),
    ]
    when = {(e.kind, e.level): m for m, e in timeline}
    peak = nov2023.PEAK_AT
    assert when[("level_raised", "BD3")] < peak < when[("level_cleared", "BD3")]
    assert when[("level_raised", "BD1")] < when[("level_raised", "BD2")] < when[("level_raised", "BD3")]
    # the fast rise on the morning of the 15th is called out before BĐ3 is reached
    rising = [m for m, e in timeline if e.kind == "rising_fast"]
    assert rising
    assert rising[0] < when[("level_raised", "BD3")]
    assert rising[0].date() == datetime(2023, 11, 15, tzinfo=ICT).date()


@pytest.mark.unit
def test_nov_2023_series_crests_at_the_recorded_peak() -> None:
    top = max(nov2023.series(), key=lambda p: p[1])
    assert top == (nov2023.PEAK_AT, 4.34)
    assert nov2023.PEAK_AT.isoformat() == "2023-11-15T19:30:00+07:00"
