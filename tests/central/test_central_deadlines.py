"""Deadlines per state and kind, escalation up the ward's chain, and triage priority."""

from datetime import datetime, timedelta

import pytest

from central.cases import directory
from central.cases.deadlines import Deadlines
from central.cases.triage import FloodNearby, priority
from central.cases.watch import DeadlineWatch
from central.core.config import DATA_DIR
from central.ingest.processor import UplinkProcessor
from central.store.base import CentralStore
from central.telemetry.rules import StationState
from protocol import frames
from protocol.envelopes import CaseEvent, WardDirectory
from tests.central.central_testkit import LOOSE_BUTTON_ID, NOW, WARD, encode, make_uplink

CHAIN = ["Ban CHPCTT khu vực (demo)", "Hue IOC"]


@pytest.fixture
def case_number(processor: UplinkProcessor, store: CentralStore) -> int:
    directory.put(store, WardDirectory(ward=WARD, authority="UBND Phường Kim Long", escalation=CHAIN), NOW)
    processor.process_batch([make_uplink(encode(frames.Sos(4, 2), 3), 1)])  # supplies, in Kim Long
    (case,) = store.cases()
    return case.case_number


@pytest.mark.unit
def test_shipped_deadlines() -> None:
    d = Deadlines.load(DATA_DIR / "deadlines.json")
    assert d.allowed("registered", "supplies") == timedelta(minutes=10)
    assert d.allowed("acknowledged", "medical") == timedelta(minutes=30)
    assert d.allowed("acknowledged", "supplies") == timedelta(hours=1)
    assert d.allowed("resolved", "medical") is None


@pytest.mark.unit
def test_overdue_case_escalates_one_level_per_missed_deadline(
    processor: UplinkProcessor, store: CentralStore, clock: list[datetime], case_number: int
) -> None:
    watch = DeadlineWatch(processor.check_deadlines, 30.0)
    clock[0] = NOW + timedelta(minutes=9, seconds=59)
    assert watch.check_once() == []
    clock[0] = NOW + timedelta(minutes=10)
    (first,) = watch.check_once()
    assert (first.case_number, first.level, first.to) == (case_number, 1, CHAIN[0])
    assert "acknowledge overdue" in first.reason
    assert watch.check_once() == []  # the deadline restarts at the escalation
    assert store.cases(overdue_at=clock[0].isoformat()) == []
    clock[0] = NOW + timedelta(minutes=20)
    assert [(e.level, e.to) for e in watch.check_once()] == [(2, "Hue IOC")]
    clock[0] = NOW + timedelta(minutes=90)
    assert watch.check_once() == []  # the top of the chain: stays overdue, shows on the dashboard
    (case,) = store.cases(overdue_at=clock[0].isoformat())
    assert (case.escalation_level, case.escalated_to, case.state) == (2, "Hue IOC", "registered")
    kinds = [e.kind for e in store.case_events(case_number)]
    assert kinds == ["created", "escalated", "escalated"]


@pytest.mark.unit
def test_acknowledged_case_gets_the_next_deadline(
    processor: UplinkProcessor, store: CentralStore, clock: list[datetime], case_number: int
) -> None:
    with store.transaction() as tx:
        case = tx.case(case_number)
        assert case is not None
        ack = CaseEvent(event_id="t:1", case_ref=case.case_ref or "", kind="acknowledged",
                        at=NOW + timedelta(minutes=5), actor="officer", data={})
        processor.ledger.append(tx, case, ack, NOW)
    (case,) = store.cases()
    assert case.due_at == (NOW + timedelta(minutes=65)).isoformat(timespec="milliseconds")
    clock[0] = NOW + timedelta(minutes=64)
    assert processor.check_deadlines() == []
    clock[0] = NOW + timedelta(minutes=66)
    assert [e.level for e in processor.check_deadlines()] == [1]


@pytest.mark.unit
@pytest.mark.parametrize(
    ("kind", "people", "vulnerable", "flood", "expected"),
    [
        (1, 3, 0b0011, FloodNearby(), 2),  # medical, pregnant + elderly
        (1, 3, 0b0011, FloodNearby(2, True), 1),  # ... with the river at BD2 and rising fast
        (2, 12, 0, FloodNearby(), 2),  # trapped, many people
        (4, 1, 0, FloodNearby(), 4),  # supplies
        (4, 1, 0, FloodNearby(3), 3),  # supplies under BD3
        (3, 1, 0b1111, FloodNearby(), 2),  # evacuation, every vulnerable flag
    ],
)
def test_triage(kind: int, people: int, vulnerable: int, flood: FloodNearby, expected: int) -> None:
    assert priority(kind, people, vulnerable, flood) == expected


@pytest.mark.unit
def test_flood_near_the_ward_raises_the_priority(processor: UplinkProcessor, store: CentralStore) -> None:
    sos = encode(frames.Sos(4, 1), 3)
    processor.process_batch([make_uplink(sos, 1)])
    assert store.cases()[0].priority == 4
    # Kim Long's station warns Kim Long: with BD3 in force and rising fast, the same SOS is triaged higher.
    processor.levels.states["kim_long"] = StationState(rank=3, rising_fast=True)
    assert processor.flood_near(WARD) == FloodNearby(3, True)
    assert processor.flood_near("20014") == FloodNearby()  # a ward far from it
    processor.process_batch([make_uplink(encode(frames.Sos(4, 1), 3, node_id=LOOSE_BUTTON_ID), 2)])
    assert [c.priority for c in store.cases()] == [3, 4]
