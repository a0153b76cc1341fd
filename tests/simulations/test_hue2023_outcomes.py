"""The run's figures from the timeline, the mesh, the ledger and central: delivery, local ACKs, duplicates."""

import pytest

from simulations.hue2023.airwaves import Heard, WardAir, sos_ref
from simulations.hue2023.ledger import LOCAL_CASE_FLAG, AckOnAir, ScenarioLedger
from simulations.hue2023.outcomes import CentralHoldings, alert_lags, incident_views, summarise
from simulations.hue2023.timeline import BackhaulCut, Incident, Press, ScenarioConfig, Timeline, crossings

pytestmark = pytest.mark.unit
WARD = "19813"
CONFIG = ScenarioConfig(hours=10, sos=3, wards=(WARD,))


def _world() -> tuple[Timeline, dict[str, WardAir], ScenarioLedger, dict[tuple[str, int], int]]:
    incidents = [Incident(WARD, 0, 1, 2, 0, (Press(100.0), Press(400.0))),  # heard, pressed again
                 Incident(WARD, 1, 1, 2, 0, (Press(200.0),)),  # never heard
                 Incident(WARD, 2, 1, 2, 0, (Press(5000.0),))]  # heard while connected
    timeline = Timeline(CONFIG, [BackhaulCut(WARD, 0.0, 3600.0)], incidents, [], {WARD: 3})
    air = WardAir(WARD, 10, 2, 1.0, covered_buttons={0, 2})
    air.heard = [Heard(sos_ref(WARD, 0, 0), 110.0, 2, 3.0), Heard(sos_ref(WARD, 0, 1), 405.0, 1, 3.0),
                 Heard(sos_ref(WARD, 2, 0), 5003.0, 1, 3.0)]
    air.acked_s = {sos_ref(WARD, 0, 0): 150.0, sos_ref(WARD, 0, 1): 412.0, sos_ref(WARD, 2, 0): 5010.0}
    ids = {(WARD, 0): 0x0B000001, (WARD, 1): 0x0B000002, (WARD, 2): 0x0B000003}
    ledger = ScenarioLedger()
    ledger.played(ids[(WARD, 0)], 0, 1000.0)
    ledger.played(ids[(WARD, 0)], 1, 1001.0)
    ledger.played(ids[(WARD, 2)], 0, 1010.0)
    ledger.ack_seen(AckOnAir(WARD, ids[(WARD, 0)], 0, LOCAL_CASE_FLAG | 1, 1, 1000.2))  # 0.2 s in the gateway
    ledger.ack_seen(AckOnAir(WARD, ids[(WARD, 0)], 1, LOCAL_CASE_FLAG | 2, 1, 1001.1))
    ledger.ack_seen(AckOnAir(WARD, ids[(WARD, 2)], 0, 9, 1, 1010.3))
    return timeline, {WARD: air}, ledger, ids


def test_local_acks_count_the_gateways_real_time_and_at_the_button_the_meshs_downlink_too() -> None:
    timeline, airs, ledger, ids = _world()
    held = CentralHoldings([], [(ids[(WARD, 0)], 0, 5), (ids[(WARD, 0)], 1, 5), (ids[(WARD, 2)], 0, 9)], [], [])
    first, never, connected = incident_views(timeline, airs, ledger, ids, held)
    assert first.isolated
    assert first.heard_s == 10.0
    assert first.hops == 2
    assert first.local_ack_s == pytest.approx(0.2)
    # The model's ACK reached the button 40 s after the gateway heard it, 0.5 s of which it spent itself.
    assert first.local_ack_at_button_s == pytest.approx(0.2 + 39.5)
    assert first.button_acked_s == 50.0
    assert first.central_cases == {5}
    assert never.heard_s is None
    assert not never.covered
    assert not connected.isolated
    assert connected.local_ack_s is None
    assert connected.central_cases == {9}


def test_the_summary_counts_delivery_local_acks_and_a_household_split_over_two_cases() -> None:
    timeline, airs, ledger, ids = _world()
    held = CentralHoldings([], [(ids[(WARD, 0)], 0, 5), (ids[(WARD, 0)], 1, 6), (ids[(WARD, 2)], 0, 9)], [], [])
    views = incident_views(timeline, airs, ledger, ids, held)
    summary = summarise(timeline, airs, ledger, ids, held, 0.0, views)
    assert summary["sos_delivered_ratio"] == round(2 / 3, 4)
    assert summary["sos_delivered_ratio_covered_buttons"] == 1.0
    assert summary["local_ack_30s_ratio"] == 1.0  # the gateway answered in 0.2 s
    assert summary["local_ack_at_button_30s_ratio"] == 0.0  # the mesh's downlink took 40 s
    assert summary["duplicate_cases"] == 1  # two presses of one household, two cases at central
    assert summary["merged_after_reconnect_ratio"] == 1.0


def test_an_alert_lags_the_crossing_by_the_time_to_the_deciding_reading() -> None:
    crossed = crossings(CONFIG, "kim_long")
    assert crossed  # 10 h round the crest: above every level from the start
    level, at = next(iter(crossed.items()))
    held = CentralHoldings([], [], [("kim_long", level, 1_000.0 + at + 240.0)], [])
    lags = alert_lags(Timeline(CONFIG, [], [], []), held, sim_epoch=1_000.0)
    assert lags[f"kim_long:{level}"] == 240.0
    assert all(v is None for k, v in lags.items() if k != f"kim_long:{level}")
