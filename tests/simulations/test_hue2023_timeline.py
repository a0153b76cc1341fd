"""The scenario's timeline: the 2023 rivers, the backhaul cut ward by ward then province-wide, the SOS."""

from datetime import datetime, timedelta

import pytest

from simulations.hue2023.timeline import (
    ALERT_LEVELS_M,
    PHU_OC_CREST_AT,
    Incident,
    Press,
    ScenarioConfig,
    build_timeline,
    crossings,
    pressed_after_rescue,
    river_level_m,
)

pytestmark = pytest.mark.unit
FULL = ScenarioConfig()


def test_the_same_seed_gives_the_same_timeline_and_another_seed_another() -> None:
    assert build_timeline(ScenarioConfig(seed=3)) == build_timeline(ScenarioConfig(seed=3))
    assert build_timeline(ScenarioConfig(seed=3)).incidents != build_timeline(ScenarioConfig(seed=4)).incidents


def test_the_rivers_crest_as_recorded_in_2023() -> None:
    assert river_level_m("kim_long", datetime.fromisoformat("2023-11-15T19:30+07:00")) == pytest.approx(4.34)
    assert river_level_m("phu_oc", PHU_OC_CREST_AT) == pytest.approx(5.0)
    assert river_level_m("phu_oc", PHU_OC_CREST_AT + timedelta(hours=3)) < 5.0


def test_every_alert_level_is_crossed_in_the_72_hours_in_order() -> None:
    for station, levels in ALERT_LEVELS_M.items():
        crossed = crossings(FULL, station)
        assert list(crossed) == list(levels), station
        assert crossed["BD1"] < crossed["BD2"] < crossed["BD3"] < FULL.duration_s


def test_wards_are_cut_one_by_one_then_the_province_stays_cut_for_most_of_the_window() -> None:
    timeline = build_timeline(FULL)
    cut_at = sorted(c.cut_s for c in timeline.cuts)
    assert len(set(cut_at)) == len(FULL.wards)  # ward by ward
    everyone = [t for t in range(0, int(FULL.duration_s), 600)
                if all(timeline.isolated(w, t) for w in FULL.wards)]
    assert len(everyone) * 600 > 0.6 * FULL.duration_s
    assert not any(timeline.isolated(w, FULL.duration_s - 1) for w in FULL.wards)  # restored before the end


def test_700_incidents_on_their_own_buttons_in_the_flooded_wards_with_repeats_and_cancels() -> None:
    timeline = build_timeline(FULL)
    assert len(timeline.incidents) == 700
    buttons = [(i.ward, i.button) for i in timeline.incidents]
    assert len(set(buttons)) == 700  # one incident per button: a merge at central is never wrong
    assert all(i.ward in FULL.wards and i.button < timeline.buttons_per_ward[i.ward] for i in timeline.incidents)
    assert any(len(i.presses) > 1 and i.cancelled_at is None for i in timeline.incidents)
    cancelled = [i for i in timeline.incidents if i.cancelled_at is not None]
    assert cancelled
    assert all(i.cancelled_at is not None and i.cancelled_at > i.first_s for i in cancelled)
    # Calls follow the water: more in the day around the crests than in the first day.
    first_day = sum(1 for i in timeline.incidents if i.first_s < 24 * 3600)
    assert first_day < 700 / 3


def test_power_is_lost_only_at_idle_homes_during_the_flood() -> None:
    timeline = build_timeline(FULL)
    busy = {(i.ward, i.button) for i in timeline.incidents}
    assert timeline.power_losses
    assert all((p.ward, p.button) not in busy and 0 < p.at_s < FULL.duration_s for p in timeline.power_losses)


@pytest.mark.parametrize(("kwargs", "says"), [({"hours": 0}, "hours"), ({"sos": 0}, "sos"),
                                               ({"wards": ("99999",)}, "hydrograph")])
def test_a_scenario_that_cannot_run_is_refused_with_the_reason(kwargs: dict[str, object], says: str) -> None:
    with pytest.raises(ValueError, match=says):
        ScenarioConfig(**kwargs)  # type: ignore[arg-type]


def test_a_repeated_press_after_the_case_was_resolved_is_not_made() -> None:
    incident = Incident("19813", 3, 1, 2, 0, (Press(100.0), Press(160.0, cancel=True), Press(4000.0)))
    assert not pressed_after_rescue(incident, 2, None)  # no one has come: the resident presses again
    assert not pressed_after_rescue(incident, 2, 4500.0)  # the team came after that press
    assert pressed_after_rescue(incident, 2, 3600.0)  # the team was there: no "no one has come" press
    assert not pressed_after_rescue(incident, 0, 50.0)  # a first press is the emergency itself
    assert not pressed_after_rescue(incident, 1, 50.0)  # a cancel is always made
