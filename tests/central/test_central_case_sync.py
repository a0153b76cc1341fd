"""Gateway case histories on up/case_events: merged by event-id union, cases opened before their SOS frame."""

import json
from datetime import timedelta

import pytest

from central.cases import directory
from central.geo.ward_locator import WardLocator
from central.ingest.processor import UplinkProcessor
from central.store.base import CentralStore
from protocol import frames, topics
from protocol.envelopes import AppAck, CaseEvent, CaseEvents, DutyOfficer, Refusal, WardDirectory, sos_case_ref
from tests.central.central_testkit import BUTTON_ID, GATEWAY, LOOSE_BUTTON_ID, NOW, WARD, encode, make_uplink

REF = sos_case_ref(LOOSE_BUTTON_ID, 1, 40)


def gw_event(n: int, kind: str, minutes: int = 0, data: dict[str, object] | None = None, ref: str = REF) -> CaseEvent:
    return CaseEvent.model_validate({
        "event_id": f"{GATEWAY}:{n}", "case_ref": ref, "kind": kind, "at": NOW + timedelta(minutes=minutes),
        "actor": f"gateway:{GATEWAY}", "data": data or {},
    })


CREATED: dict[str, object] = {"kind": 2, "people": 4, "vulnerable": 2, "lat": None, "lon": None, "local_case": 7,
           "frame": encode(frames.Sos(2, 4, 2), 40, node_id=LOOSE_BUTTON_ID)}  # the button's own, signed


def history(msg_id: int, *events: CaseEvent, ward: str = WARD) -> tuple[str, bytes]:
    env = CaseEvents(msg_id=msg_id, gateway=GATEWAY, ward=ward, events=list(events))
    return topics.uplink(ward, GATEWAY, "case_events"), env.model_dump_json().encode()


def app_ack(processor: UplinkProcessor, *messages: tuple[str, bytes]) -> AppAck:
    (ack,) = processor.process_batch(list(messages)).app_acks
    return AppAck.model_validate_json(ack.payload)


@pytest.mark.unit
def test_gateway_history_opens_the_case_and_the_late_sos_dedupes_onto_it(
    processor: UplinkProcessor, store: CentralStore
) -> None:
    ack = app_ack(processor, history(9, gw_event(1, "created", data=CREATED), gw_event(2, "acknowledged", 3)))
    assert ack == AppAck(msg_ids=[9])
    (case,) = store.cases()
    assert (case.case_ref, case.ward_code, case.located_by, case.state) == (REF, WARD, "gateway", "acknowledged")
    assert (case.kind, case.people, case.vulnerable, case.gateway) == (2, 4, 2, GATEWAY)
    # The SOS frame itself arrives after the gateway reconnects: same case, no new one, no second 'created'.
    result = processor.process_batch([make_uplink(encode(frames.Sos(2, 4, 2), 40, node_id=LOOSE_BUTTON_ID), 10)])
    (again,) = store.cases()
    assert again.case_number == case.case_number
    ack_frame = frames.decode(bytes.fromhex(json.loads(result.downlinks[0].payload)["frame"]), b"\xa1" * 16)
    assert ack_frame.payload == frames.Ack(1, 40, case.case_number, frames.ACK_STATES.index("acknowledged"))
    assert [e.event_id for e in store.case_events(case.case_number)] == [f"{GATEWAY}:1", f"{GATEWAY}:2"]


@pytest.mark.unit
def test_union_with_central_history_has_no_duplicates_and_loses_nothing(
    processor: UplinkProcessor, store: CentralStore
) -> None:
    processor.process_batch([make_uplink(encode(frames.Sos(1, 2), 40, node_id=LOOSE_BUTTON_ID), 1)])
    (case,) = store.cases()
    events = [gw_event(1, "created", data=CREATED), gw_event(2, "acknowledged", 2), gw_event(3, "dispatched", 5)]
    assert app_ack(processor, history(20, *events)) == AppAck(msg_ids=[20])
    assert app_ack(processor, history(21, *reversed(events))) == AppAck(msg_ids=[21])  # replayed: a no-op
    ids = [e.event_id for e in store.case_events(case.case_number)]
    assert sorted(ids) == sorted([f"central:{REF}:created", f"{GATEWAY}:1", f"{GATEWAY}:2", f"{GATEWAY}:3"])
    (after,) = store.cases()
    assert (after.state, after.located_by, after.kind) == ("dispatched", "gateway", 1)  # central's own data stays
    assert store.counter("case_events_merged") == 3


@pytest.mark.unit
def test_conflicting_histories_keep_both_events(processor: UplinkProcessor, store: CentralStore) -> None:
    processor.process_batch([make_uplink(encode(frames.Sos(1, 2), 40, node_id=LOOSE_BUTTON_ID), 1)])
    (case,) = store.cases()
    with store.transaction() as tx:
        fresh = tx.case(case.case_number)
        assert fresh is not None
        processor.ledger.append(tx, fresh, gw_event(99, "resolved", 30).model_copy(update={"event_id": "ioc:1"}), NOW)
    app_ack(processor, history(5, gw_event(1, "dispatched", 45)))  # the ward's late step: kept, ignored
    (after,) = store.cases()
    assert after.state == "resolved"
    assert {e.event_id for e in store.case_events(case.case_number)} >= {"ioc:1", f"{GATEWAY}:1"}


@pytest.mark.unit
@pytest.mark.parametrize(
    ("events", "reason"),
    [
        ([gw_event(1, "acknowledged")], "unknown_case"),
        ([gw_event(1, "created", data={**CREATED, "kind": 9})], "created_frame_mismatch"),
        ([gw_event(1, "created", data={**CREATED, "lat": 123.0, "lon": 107.0})], "created_frame_mismatch"),
    ],
)
def test_invalid_histories_are_refused_with_a_reason(
    processor: UplinkProcessor, store: CentralStore, events: list[CaseEvent], reason: str
) -> None:
    assert app_ack(processor, history(3, *events)) == AppAck(refused=[Refusal(msg_id=3, reason=reason)])
    assert store.cases() == []
    assert store.stats().rejected_by_reason == {reason: 1}


@pytest.mark.unit
def test_envelope_errors_are_refused(processor: UplinkProcessor, store: CentralStore) -> None:
    topic, payload = history(4, gw_event(1, "created", data=CREATED))
    wrong_ward = topics.uplink("19813", GATEWAY, "case_events")
    assert app_ack(processor, (wrong_ward, payload)).refused == [Refusal(msg_id=4, reason="topic_mismatch")]
    broken = json.loads(payload)
    broken["events"][0]["kind"] = "exploded"
    assert app_ack(processor, (topic, json.dumps(broken).encode())).refused == [
        Refusal(msg_id=4, reason="invalid_envelope")
    ]
    assert store.cases() == []


@pytest.mark.unit
def test_gps_in_created_places_the_case(processor: UplinkProcessor, store: CentralStore) -> None:
    signed = encode(frames.Sos(2, 4, 2, 16_478_670, 107_577_220), 40, node_id=LOOSE_BUTTON_ID)
    data: dict[str, object] = {**CREATED, "lat": 16.47867, "lon": 107.57722, "frame": signed}
    assert app_ack(processor, history(1, gw_event(1, "created", data=data))) == AppAck(msg_ids=[1])
    (case,) = store.cases()
    assert (case.ward_code, case.located_by) == ("19753", "gps")


@pytest.mark.unit
def test_new_case_texts_the_wards_duty_officers_through_the_gateway(
    processor: UplinkProcessor, store: CentralStore, locator: WardLocator
) -> None:
    officers = [DutyOfficer(name="Chị Lan", phone="1", radio_node_id=0x0C0000AA), DutyOfficer(name="No radio")]
    directory.put(store, WardDirectory(ward=WARD, authority="UBND Phường Kim Long", officers=officers), NOW)
    result = processor.process_batch([make_uplink(encode(frames.Sos(1, 3, 1), 3), 1)])  # registered in Kim Long
    (text,) = result.texts
    assert text.topic == f"floodmesh/v1/{WARD}/{GATEWAY}/down/text"
    body = json.loads(text.payload)
    assert set(body) == {"v", "node_id", "text"}
    assert (body["v"], body["node_id"]) == (1, 0x0C0000AA)
    assert "SOS #1" in body["text"]
    assert "medical" in body["text"]
    assert len(body["text"].encode()) <= 200
    (case,) = store.cases()
    notified = [e for e in store.case_events(case.case_number) if e.kind == "notified"]
    assert [json.loads(e.data)["to"] for e in notified] == ["Chị Lan"]
    # A second press merges (a 'merged' event) and texts nobody again.
    again = processor.process_batch([make_uplink(encode(frames.Sos(1, 3, 1), 4), 2)])
    assert again.texts == []
    assert store.cases()[0].presses == 2
    assert [e.kind for e in store.case_events(case.case_number)] == ["created", "notified", "merged"]
    assert case.node_id == BUTTON_ID


@pytest.mark.unit
def test_a_wards_history_of_another_press_joins_the_households_open_case(
    processor: UplinkProcessor, store: CentralStore
) -> None:
    # The resident pressed twice while the ward was cut off; the second press's frame reached central
    # first, then the ward's history of the first press's local case: one emergency, one case.
    processor.process_batch([make_uplink(encode(frames.Sos(2, 4, 2), 41, node_id=LOOSE_BUTTON_ID), 1)])
    first_press = gw_event(1, "created", minutes=-10, data=CREATED)
    assert app_ack(processor, history(2, first_press, gw_event(2, "acknowledged", -5))) == AppAck(msg_ids=[2])
    (case,) = store.cases()
    assert (case.presses, case.state) == (2, "acknowledged")
    # Its frame, when it comes, is that case's too.
    processor.process_batch([make_uplink(encode(frames.Sos(2, 4, 2), 40, node_id=LOOSE_BUTTON_ID), 3)])
    assert [c.case_number for c in store.cases()] == [case.case_number]
