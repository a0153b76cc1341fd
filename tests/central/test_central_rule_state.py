"""Flood-rule state in the shared store: any replica, or a restarted central, continues each station."""

from datetime import datetime

import pytest

from central.geo.ward_locator import WardLocator
from central.ingest.processor import UplinkProcessor
from central.store.base import CentralStore
from central.store.schema import SCHEMA_VERSION_KEY, VERSIONED_MIGRATIONS
from central.telemetry import nov2023
from central.telemetry.rule_state import RuleStateError, decode_state, encode_state
from central.telemetry.rules import StationState
from central.telemetry.stations import Station
from central.telemetry.trend import TrendWindow
from protocol.registry import NodeRegistry
from tests.central.test_central_alerts import reading_uplink


@pytest.mark.unit
def test_a_state_survives_its_text_form() -> None:
    state = StationState(rank=2, rising_fast=True, trend=TrendWindow.of([(10.0, 2.1), (70.0, 2.25)]), pending=1,
                         pending_dir=-1, last_t=70.0)
    back = decode_state(encode_state(state))
    assert (back.rank, back.rising_fast, back.pending, back.pending_dir, back.last_t) == (2, True, 1, -1, 70.0)
    assert back.window == state.window
    with pytest.raises(RuleStateError, match="delete its station_rule_state row"):
        decode_state('{"rank": 1}')


@pytest.mark.unit
def test_a_state_stored_before_the_packed_window_is_still_read() -> None:
    # Rows written by the first release of station_rule_state hold the window as JSON pairs.
    old = ('{"rank":1,"rising_fast":false,"pending":0,"pending_dir":0,"last_t":70.0,'
           '"trend":[[10.0,2.1],[70.0,2.25]]}')
    back = decode_state(old)
    assert (back.rank, back.last_t, back.window) == (1, 70.0, ((10.0, 2.1), (70.0, 2.25)))
    with pytest.raises(RuleStateError):
        decode_state(old.replace('"trend":[[10.0,2.1],[70.0,2.25]]', '"trend_f64":"not base64!"'))


def test_the_store_is_at_the_newest_schema_version(store: CentralStore) -> None:
    newest = VERSIONED_MIGRATIONS[-1][0]
    assert store.read_one("SELECT value FROM meta WHERE key = ?", (SCHEMA_VERSION_KEY,)) == (newest,)


def test_two_replicas_taking_turns_raise_and_clear_each_level_once(
    registry: NodeRegistry, locator: WardLocator, stations: dict[str, Station], store: CentralStore,
    clock: list[datetime],
) -> None:
    # Two processors on one store, as two central replicas: the Nov 2023 flood, batches alternating.
    replicas = [UplinkProcessor(registry, locator, stations, store, clock=lambda: clock[0]) for _ in range(2)]
    datum = stations["kim_long"].datum_m
    ups = [reading_uplink(i + 1, m, lv, datum) for i, (m, lv) in enumerate(nov2023.series())]
    for n, first in enumerate(range(0, len(ups), 8)):
        replicas[n % 2].process_batch(ups[first : first + 8])
    alerts = list(reversed(store.alerts("kim_long")))
    # Each replica alone would have seen half the readings and raised (and cleared) its own alerts.
    assert [(a.kind, a.level) for a in alerts if a.kind.startswith("level")] == [
        ("level_raised", "BD1"), ("level_raised", "BD2"), ("level_raised", "BD3"),
        ("level_cleared", "BD3"), ("level_cleared", "BD2"), ("level_cleared", "BD1"),
    ]


def test_a_restarted_central_keeps_the_level_in_force(
    registry: NodeRegistry, locator: WardLocator, stations: dict[str, Station], store: CentralStore,
    clock: list[datetime],
) -> None:
    datum = stations["kim_long"].datum_m
    series = nov2023.series()
    crest = max(range(len(series)), key=lambda i: series[i][1])
    ups = [reading_uplink(i + 1, m, lv, datum) for i, (m, lv) in enumerate(series)]
    before = UplinkProcessor(registry, locator, stations, store, clock=lambda: clock[0])
    before.process_batch(ups[: crest + 1])
    in_force = before.levels.states["kim_long"]
    after = UplinkProcessor(registry, locator, stations, store, clock=lambda: clock[0])  # a restart
    after.process_batch(ups[crest + 1 : crest + 2])
    assert after.levels.states["kim_long"].rank == in_force.rank == 3
    window = after.levels.states["kim_long"].window
    assert window[:-1] == in_force.window[-(len(window) - 1) :]  # the trend went on from the stored window
    raised = [a for a in store.alerts("kim_long") if a.kind == "level_raised"]
    assert len(raised) == 3  # no second BD1/BD2/BD3 after the restart
