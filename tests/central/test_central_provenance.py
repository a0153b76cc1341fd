"""Provenance at central: a gateway changes cases only for the ward its topic (its identity) owns."""

import json
from dataclasses import replace
from datetime import timedelta

import pytest

from central.cases.accountability import AuthorityRecord, account
from central.cases.provenance import Publisher, judge_event, judge_known_case, judge_new_case
from central.ingest.processor import UplinkProcessor
from central.store.base import CentralStore
from central.store.records import Case
from protocol import frames, topics
from protocol.envelopes import AppAck, CaseEvent, CaseEvents, Refusal, UplinkBatch, UplinkItem, sos_case_ref
from protocol.registry import NodeRecord, NodeRegistry
from tests.central.central_testkit import (
    BUTTON_ID,
    BUTTON_KEY,
    GATEWAY,
    LOOSE_BUTTON_ID,
    NOW,
    SENSOR_ID,
    WARD,
    encode,
    make_uplink,
)

WARD_B, GATEWAY_B = "19813", "gw-thuyxuan"  # Thủy Xuân, Kim Long's neighbour
B_BUTTON_ID = 0x0B0000B1  # an SOS button registered in Thủy Xuân, at home there
IN_WARD_B = {"lat": 16.41667, "lon": 107.5667}  # a GPS fix inside Thủy Xuân
OFFICER = "officer:0c0000aa"
A, B = Publisher(WARD, GATEWAY), Publisher(WARD_B, GATEWAY_B)


@pytest.fixture(autouse=True)
def border_button(registry: NodeRegistry) -> None:
    """Thủy Xuân's button joins the test registry (the processor holds the same registry)."""
    registry.add(NodeRecord(B_BUTTON_ID, "sos_button", BUTTON_KEY, WARD_B, IN_WARD_B["lat"], IN_WARD_B["lon"]))


def event(gateway: str, ref: str, kind: str, minutes: int = 0, actor: str = OFFICER,
          data: dict[str, object] | None = None) -> CaseEvent:
    """One event as gateway ``gateway``'s ward mode writes it (id ``<gateway>:<ref>:<kind>``)."""
    return CaseEvent.model_validate({
        "event_id": f"{gateway}:{ref}:{kind}", "case_ref": ref, "kind": kind, "at": NOW + timedelta(minutes=minutes),
        "actor": actor, "data": data or {},
    })


def created(node_id: int, seq: int, gps: bool = False, key: bytes = BUTTON_KEY) -> dict[str, object]:
    """A ward mode's ``created`` for that SOS: its readable fields and the button's signed frame."""
    lat_e6, lon_e6 = (round(IN_WARD_B["lat"] * 1e6), round(IN_WARD_B["lon"] * 1e6)) if gps else (None, None)
    position = {"lat": lat_e6 / 1e6, "lon": lon_e6 / 1e6} if lat_e6 is not None and lon_e6 is not None else {}
    return {"kind": 2, "people": 4, "vulnerable": 0, "lat": None, "lon": None, **position, "local_case": 1,
            "frame": encode(frames.Sos(2, 4, 0, lat_e6, lon_e6), seq, node_id=node_id, key=key)}


def history(msg_id: int, publisher: Publisher, *events: CaseEvent) -> tuple[str, bytes]:
    """A CaseEvents envelope on the publisher's own topic."""
    env = CaseEvents(msg_id=msg_id, gateway=publisher.gateway, ward=publisher.ward, events=list(events))
    return topics.uplink(publisher.ward, publisher.gateway, "case_events"), env.model_dump_json().encode()


def sos(node_id: int, seq: int, msg_id: int, via: Publisher, gps: bool = False) -> tuple[str, bytes]:
    """A signed SOS from ``node_id`` (boot epoch 1), relayed by the ``via`` gateway."""
    fix = (int(IN_WARD_B["lat"] * 1e6), int(IN_WARD_B["lon"] * 1e6)) if gps else (None, None)
    frame = encode(frames.Sos(1, 3, 0, *fix), seq, node_id=node_id)
    return make_uplink(frame, msg_id, ward=via.ward, gateway=via.gateway)


def app_ack(processor: UplinkProcessor, *messages: tuple[str, bytes]) -> AppAck:
    (ack,) = processor.process_batch(list(messages)).app_acks
    return AppAck.model_validate_json(ack.payload)


def figures(processor: UplinkProcessor, store: CentralStore) -> list[AuthorityRecord]:
    return account(store.cases(), processor.ledger.deadlines, NOW + timedelta(hours=1))


def ward_b_case(processor: UplinkProcessor, store: CentralStore) -> Case:
    """A Thủy Xuân case: its own button's SOS, brought by its own gateway."""
    assert app_ack(processor, sos(B_BUTTON_ID, 40, 1, via=B)) == AppAck(msg_ids=[1])
    (case,) = store.cases()
    assert (case.ward_code, case.gateway, case.state) == (WARD_B, GATEWAY_B, "registered")
    return case


# --- the pure rules ------------------------------------------------------------------------------


@pytest.mark.unit
@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"event_id": f"central:{sos_case_ref(BUTTON_ID, 1, 1)}:escalated:1"}, "foreign_event_id"),
        ({"event_id": f"{GATEWAY_B}:1"}, "foreign_event_id"),
        ({"event_id": f"{GATEWAY}x:1"}, "foreign_event_id"),
        ({"actor": "central:ingest"}, "foreign_actor"),
        ({"actor": f"gateway:{GATEWAY_B}"}, "foreign_actor"),
        ({"actor": "operator:hotline"}, "foreign_actor"),
        ({"kind": "cancelled"}, "kind_not_from_gateway"),
        ({"kind": "rated"}, "kind_not_from_gateway"),
        ({"kind": "escalated"}, "kind_not_from_gateway"),
        ({"kind": "merged"}, "kind_not_from_gateway"),
    ],
)
def test_a_gateway_writes_only_its_own_ids_actors_and_kinds(changes: dict[str, str], reason: str) -> None:
    base = event(GATEWAY, sos_case_ref(BUTTON_ID, 1, 1), "acknowledged")
    assert judge_event(A, base) is None
    foreign = judge_event(A, base.model_copy(update=changes))
    assert foreign is not None
    assert foreign.reason == reason


@pytest.mark.unit
@pytest.mark.parametrize("kind", ["created", "notified", "acknowledged", "dispatched", "resolved"])
def test_every_kind_the_ward_mode_writes_is_allowed(kind: str) -> None:
    assert judge_event(A, event(GATEWAY, sos_case_ref(BUTTON_ID, 1, 1), kind)) is None
    assert judge_event(A, event(GATEWAY, sos_case_ref(BUTTON_ID, 1, 1), kind, actor=f"gateway:{GATEWAY}")) is None


@pytest.mark.unit
def test_who_speaks_for_a_known_case(
    processor: UplinkProcessor, store: CentralStore, registry: NodeRegistry
) -> None:
    case = ward_b_case(processor, store)
    assert judge_known_case(B, case, registry) is None  # its ward's own gateway
    foreign = judge_known_case(A, case, registry)
    assert foreign is not None
    assert foreign.reason == "foreign_ward_case"
    assert judge_known_case(A, replace(case, gateway=GATEWAY), registry) is None  # A brought it to central
    assert judge_known_case(A, replace(case, node_id=BUTTON_ID), registry) is None  # A's own resident's button
    assert judge_known_case(Publisher(WARD, "gw-other"), replace(case, ward_code=WARD), registry) is None


@pytest.mark.unit
@pytest.mark.parametrize(
    ("node_id", "reason"),
    [(B_BUTTON_ID, "foreign_node"), (0x0B00DEAD, "unknown_node"), (SENSOR_ID, "not_sos_button")],
)
def test_a_new_case_needs_a_button_of_the_publishers_ward(
    registry: NodeRegistry, node_id: int, reason: str
) -> None:
    assert judge_new_case(A, BUTTON_ID, registry) is None
    assert judge_new_case(A, LOOSE_BUTTON_ID, registry) is None
    foreign = judge_new_case(A, node_id, registry)
    assert foreign is not None
    assert foreign.reason == reason


# --- through the processor ---------------------------------------------------------------------


@pytest.mark.unit
@pytest.mark.parametrize(
    ("kind", "reason"),
    [
        ("acknowledged", "foreign_ward_case"),
        ("dispatched", "foreign_ward_case"),
        ("resolved", "foreign_ward_case"),
        ("cancelled", "kind_not_from_gateway"),
    ],
)
def test_another_wards_gateway_cannot_move_a_case(
    processor: UplinkProcessor, store: CentralStore, kind: str, reason: str
) -> None:
    case = ward_b_case(processor, store)
    before_events, before_figures = store.case_events(case.case_number), figures(processor, store)
    ack = app_ack(processor, history(7, A, event(GATEWAY, case.case_ref or "", kind, 5)))
    assert ack == AppAck(refused=[Refusal(msg_id=7, reason=reason)])
    assert store.cases() == [case]
    assert store.case_events(case.case_number) == before_events
    assert figures(processor, store) == before_figures
    assert store.stats().rejected_by_reason == {reason: 1}
    assert store.counter("case_events_merged") == 0


@pytest.mark.unit
def test_the_wards_own_gateway_moves_its_case_and_its_figures(processor: UplinkProcessor, store: CentralStore) -> None:
    case = ward_b_case(processor, store)
    ref = case.case_ref or ""
    (before,) = figures(processor, store)
    assert (before.ward_code, before.acknowledged, before.resolved) == (WARD_B, 0, 0)
    ack = app_ack(processor, history(7, B, event(GATEWAY_B, ref, "acknowledged", 5)),
                  history(8, B, event(GATEWAY_B, ref, "resolved", 30)))
    assert ack == AppAck(msg_ids=[7, 8])
    (after,) = figures(processor, store)
    assert (after.acknowledged, after.resolved, after.mean_time_to_acknowledge_s) == (1, 1, 300.0)
    assert store.stats().rejected_by_reason == {}


@pytest.mark.unit
def test_a_refused_envelope_leaves_the_others_of_its_batch_alone(
    processor: UplinkProcessor, store: CentralStore
) -> None:
    b_case = ward_b_case(processor, store)
    assert app_ack(processor, sos(BUTTON_ID, 41, 2, via=A)) == AppAck(msg_ids=[2])
    a_case = next(c for c in store.cases() if c.ward_code == WARD)
    ack = app_ack(processor, history(7, A, event(GATEWAY, b_case.case_ref or "", "resolved", 5)),
                  history(8, A, event(GATEWAY, a_case.case_ref or "", "acknowledged", 5)))
    assert ack == AppAck(msg_ids=[8], refused=[Refusal(msg_id=7, reason="foreign_ward_case")])
    states = {c.ward_code: c.state for c in store.cases()}
    assert states == {WARD_B: "registered", WARD: "acknowledged"}


@pytest.mark.unit
def test_one_foreign_event_refuses_its_whole_envelope(processor: UplinkProcessor, store: CentralStore) -> None:
    assert app_ack(processor, sos(BUTTON_ID, 41, 2, via=A)) == AppAck(msg_ids=[2])
    (case,) = store.cases()
    ref = case.case_ref or ""
    forged = event(GATEWAY, ref, "dispatched", 6).model_copy(update={"event_id": f"central:{ref}:escalated:1"})
    ack = app_ack(processor, history(7, A, event(GATEWAY, ref, "acknowledged", 5), forged))
    assert ack == AppAck(refused=[Refusal(msg_id=7, reason="foreign_event_id")])
    assert store.cases() == [case]
    assert [e.kind for e in store.case_events(case.case_number)] == ["created"]


@pytest.mark.unit
@pytest.mark.parametrize(
    ("node_id", "reason"),
    [(B_BUTTON_ID, "foreign_node"), (0x0B00DEAD, "unknown_node"), (SENSOR_ID, "not_sos_button")],
)
def test_an_invented_case_is_not_opened(
    processor: UplinkProcessor, store: CentralStore, node_id: int, reason: str
) -> None:
    ref = sos_case_ref(node_id, 1, 40)
    ack = app_ack(processor, history(3, A, event(GATEWAY, ref, "created", actor=f"gateway:{GATEWAY}",
                                                        data=created(node_id, 40)),
                                     event(GATEWAY, ref, "resolved", 1)))
    assert ack == AppAck(refused=[Refusal(msg_id=3, reason=reason)])
    assert store.cases() == []
    assert figures(processor, store) == []
    assert store.stats().rejected_by_reason == {reason: 1}


@pytest.mark.unit
@pytest.mark.parametrize(
    ("data", "reason"),
    [
        ({k: v for k, v in created(BUTTON_ID, 40).items() if k != "frame"}, "unsigned_created"),
        (created(BUTTON_ID, 40, key=b"\x5a" * 16), "bad_created_frame"),  # not the button's key
        ({**created(BUTTON_ID, 40), "frame": "not hex"}, "bad_created_frame"),
        (created(BUTTON_ID, 41), "created_frame_mismatch"),  # another SOS of the button
        ({**created(BUTTON_ID, 40), "people": 40}, "created_frame_mismatch"),  # more people than it signed
        ({**created(BUTTON_ID, 40), **IN_WARD_B}, "created_frame_mismatch"),  # a position it never sent
    ],
)
def test_a_gateway_cannot_open_a_case_on_its_word_alone(
    processor: UplinkProcessor, store: CentralStore, data: dict[str, object], reason: str
) -> None:
    # The ward's own gateway, its own ward's button: only the button's signature can open a case central never saw.
    ref = sos_case_ref(BUTTON_ID, 1, 40)
    ack = app_ack(processor, history(3, A, event(GATEWAY, ref, "created", actor=f"gateway:{GATEWAY}", data=data)))
    assert ack == AppAck(refused=[Refusal(msg_id=3, reason=reason)])
    assert store.cases() == []
    assert figures(processor, store) == []
    assert store.stats().rejected_by_reason == {reason: 1}


@pytest.mark.unit
def test_a_border_sos_handled_while_cut_off_is_the_handling_gateways_to_report(
    processor: UplinkProcessor, store: CentralStore
) -> None:
    # Kim Long's own button, its GPS fix across the line in Thủy Xuân: Kim Long's gateway opened it locally.
    ref = sos_case_ref(BUTTON_ID, 1, 50)
    opened = event(GATEWAY, ref, "created", actor=f"gateway:{GATEWAY}", data=created(BUTTON_ID, 50, gps=True))
    assert app_ack(processor, history(3, A, opened, event(GATEWAY, ref, "acknowledged", 2))) == AppAck(msg_ids=[3])
    (case,) = store.cases()
    assert (case.ward_code, case.gateway, case.state) == (WARD_B, GATEWAY, "acknowledged")
    assert app_ack(processor, history(4, A, event(GATEWAY, ref, "resolved", 20))) == AppAck(msg_ids=[4])
    # Thủy Xuân's button heard first by Kim Long's gateway: that gateway reports its handling of it.
    assert app_ack(processor, sos(B_BUTTON_ID, 60, 5, via=A)) == AppAck(msg_ids=[5])
    relayed = next(c for c in store.cases() if c.node_id == B_BUTTON_ID)
    assert (relayed.ward_code, relayed.gateway) == (WARD_B, GATEWAY)
    assert app_ack(processor, history(6, A, event(GATEWAY, relayed.case_ref or "", "acknowledged", 3))) == AppAck(
        msg_ids=[6]
    )
    assert {c.case_ref: c.state for c in store.cases()} == {ref: "resolved", relayed.case_ref: "acknowledged"}
    assert store.stats().rejected_by_reason == {}


@pytest.mark.unit
def test_a_wards_own_button_across_the_line_stays_its_gateways_to_report(
    processor: UplinkProcessor, store: CentralStore
) -> None:
    # Kim Long's button, fix in Thủy Xuân, relayed first by Thủy Xuân's gateway: Kim Long's still answers.
    assert app_ack(processor, sos(BUTTON_ID, 70, 1, via=B, gps=True)) == AppAck(msg_ids=[1])
    (case,) = store.cases()
    assert (case.ward_code, case.gateway) == (WARD_B, GATEWAY_B)
    assert app_ack(processor, history(2, A, event(GATEWAY, case.case_ref or "", "acknowledged", 2))) == AppAck(
        msg_ids=[2]
    )
    assert store.cases()[0].state == "acknowledged"


@pytest.mark.unit
def test_a_relayed_signed_sos_from_a_border_node_becomes_a_case(
    processor: UplinkProcessor, store: CentralStore
) -> None:
    result = processor.process_batch([sos(B_BUTTON_ID, 40, 1, via=A)])
    (case,) = store.cases()
    assert (case.ward_code, case.node_id, case.gateway) == (WARD_B, B_BUTTON_ID, GATEWAY)
    (down,) = result.downlinks  # the button's ACK goes back through the gateway that heard it
    assert down.topic == topics.downlink(WARD, GATEWAY, B_BUTTON_ID)
    # Its signed cancel and its signed health report, relayed the same way, are taken too.
    cancel = encode(frames.SosCancel(40), 41, node_id=B_BUTTON_ID)
    status = encode(frames.NodeStatus(87, 3600, 0), 42, node_id=B_BUTTON_ID)
    ack = app_ack(processor, make_uplink(cancel, 2), make_uplink(status, 3))
    assert ack == AppAck(msg_ids=[2, 3])
    assert store.cases()[0].state == "cancelled"
    (health,) = store.node_health()
    assert (health.node_id, health.gateway, health.ward) == (B_BUTTON_ID, GATEWAY, WARD)
    assert store.stats().rejected_by_reason == {}


def _batch(publisher_ward: str, claimed_ward: str, frame_hex: str, msg_id: int) -> tuple[str, bytes]:
    item = UplinkItem(msg_id=msg_id, received_at=NOW, frame=frame_hex)
    env = UplinkBatch(gateway=GATEWAY, ward=claimed_ward, items=[item])
    return topics.uplink(publisher_ward, GATEWAY, "batch"), env.model_dump_json().encode()


@pytest.mark.unit
def test_an_envelope_claiming_another_identity_than_its_topic_is_refused(
    processor: UplinkProcessor, store: CentralStore
) -> None:
    # Each envelope names gateway A of ward B while published on A's topic (ward A).
    topic_sos, body = make_uplink(encode(frames.Sos(1, 3, 0), 40), 1, ward=WARD_B)
    on_a = (topics.uplink(WARD, GATEWAY, "sos"), body)
    status = encode(frames.NodeStatus(87, 3600, 0), 41)
    topic_st, body_st = make_uplink(status, 2, ward=WARD_B)
    env = CaseEvents(msg_id=3, gateway=GATEWAY_B, ward=WARD, events=[
        event(GATEWAY_B, sos_case_ref(BUTTON_ID, 1, 40), "created", actor=f"gateway:{GATEWAY_B}",
              data=created(BUTTON_ID, 40))])
    messages = [
        on_a,
        (topics.uplink(WARD, GATEWAY, "node_status"), body_st),
        _batch(WARD, WARD_B, encode(frames.Sos(1, 3, 0), 43), 4),
        (topics.uplink(WARD, GATEWAY, "case_events"), env.model_dump_json().encode()),
    ]
    assert topic_sos != on_a[0]
    assert topic_st.endswith("/node_status")
    ack = app_ack(processor, *messages)
    assert ack == AppAck(refused=[Refusal(msg_id=n, reason="topic_mismatch") for n in (1, 2, 4, 3)])
    assert store.cases() == []
    assert store.node_health() == []
    assert store.stats().rejected_by_reason == {"topic_mismatch": 4}


@pytest.mark.unit
def test_a_gateway_status_speaks_only_for_its_own_topic(processor: UplinkProcessor, store: CentralStore) -> None:
    # A status is stored for the gateway whose topic it came on (the broker's ACL vouches for that), so one
    # that names another ward's gateway is refused: it could otherwise mark that gateway online or isolated.
    status = json.dumps({"v": 1, "gateway": GATEWAY_B, "ward": WARD_B, "online": True}).encode()
    result = processor.process_batch([(topics.status(WARD, GATEWAY), status)])
    assert (result.accepted, result.rejected, result.app_acks) == (0, 1, [])
    assert store.stats().rejected_by_reason == {"status_topic_mismatch": 1}
    assert store.read_all("SELECT * FROM gateway_status") == []
    assert store.node_health() == []
