"""UplinkProcessor: cases, ACKs, readings, dedupe and every rejection reason."""

from datetime import datetime, timedelta

import pytest

from central.ingest.processor import BatchResult, UplinkProcessor
from central.store.base import CentralStore
from protocol import frames, topics
from protocol.envelopes import AppAck, Downlink, Refusal
from tests.central.central_testkit import (
    BUTTON_ID,
    BUTTON_KEY,
    GATEWAY,
    LOOSE_BUTTON_ID,
    SENSOR_ID,
    SENSOR_KEY,
    WARD,
    encode,
    make_uplink,
    vector_hex,
)


def only_ack(result: BatchResult) -> AppAck:
    assert len(result.app_acks) == 1
    assert result.app_acks[0].topic == topics.app_ack(WARD, GATEWAY)
    return AppAck.model_validate_json(result.app_acks[0].payload)


def decode_ack(payload: str, key: bytes = BUTTON_KEY) -> tuple[Downlink, frames.Frame]:
    down = Downlink.model_validate_json(payload)
    return down, frames.decode(bytes.fromhex(down.frame), key)


@pytest.mark.unit
def test_sos_with_gps_opens_case_in_gps_ward_and_acks(processor: UplinkProcessor, store: CentralStore) -> None:
    result = processor.process_batch([make_uplink(vector_hex("sos_medical_gps"), msg_id=7)])
    (case,) = store.cases()
    assert (case.ward_code, case.ward_name, case.located_by) == ("19753", "Phường Phú Xuân", "gps")
    assert case.authority == "UBND Phường Phú Xuân"
    assert (case.lat, case.lon, case.people, case.kind, case.state) == (16.47867, 107.57722, 3, 1, "registered")
    (down,) = result.downlinks
    assert down.topic == topics.downlink(WARD, GATEWAY, BUTTON_ID)
    envelope, frame = decode_ack(down.payload)
    assert envelope.case_number == case.case_number
    assert frame.payload == frames.Ack(sos_boot=1, sos_seq=2, case_number=case.case_number, state=1)
    assert (frame.node_id, frame.boot_epoch) == (BUTTON_ID, processor.boot_epoch)
    assert only_ack(result) == AppAck(msg_ids=[7])


@pytest.mark.unit
def test_sos_without_gps_uses_registry_then_gateway(processor: UplinkProcessor, store: CentralStore) -> None:
    sos = frames.Sos(kind=2, people=4)
    processor.process_batch(
        [make_uplink(encode(sos, 3), 1), make_uplink(encode(sos, 3, node_id=LOOSE_BUTTON_ID), 2, ward="19813")]
    )
    by_node = {c.node_id: c for c in store.cases()}
    assert (by_node[BUTTON_ID].ward_code, by_node[BUTTON_ID].located_by) == ("19774", "registry")
    loose = by_node[LOOSE_BUTTON_ID]
    assert (loose.ward_code, loose.located_by, loose.lat, loose.gateway) == ("19813", "gateway", None, GATEWAY)


@pytest.mark.unit
def test_duplicate_sos_is_one_case_and_ack_is_resent(processor: UplinkProcessor, store: CentralStore) -> None:
    sos = make_uplink(vector_hex("sos_trapped_no_gps"), 1)
    again = make_uplink(vector_hex("sos_trapped_no_gps"), 2, gateway="gw-other")  # heard by a second gateway
    first = processor.process_batch([sos, again])
    later = processor.process_batch([make_uplink(vector_hex("sos_trapped_no_gps"), 3)])  # button retry
    (case,) = store.cases()
    acks = [decode_ack(d.payload)[1] for d in first.downlinks + later.downlinks]
    assert [a.payload for a in acks] == [frames.Ack(1, 3, case.case_number, 1)] * 3
    assert len({a.seq for a in acks}) == 3  # central never reuses its own (boot, seq)
    assert first.downlinks[1].topic == topics.downlink(WARD, "gw-other", BUTTON_ID)
    assert AppAck.model_validate_json(later.app_acks[0].payload).msg_ids == [3]
    stats = store.stats()
    assert (stats.duplicates, stats.sos_cases, stats.acks_sent) == (2, 1, 3)


@pytest.mark.unit
def test_repeated_press_merges_into_open_case(
    processor: UplinkProcessor, store: CentralStore, clock: list[datetime]
) -> None:
    processor.process_batch([make_uplink(encode(frames.Sos(1, 2), 10), 1, received_at=clock[0])])
    clock[0] += timedelta(minutes=10)
    result = processor.process_batch([make_uplink(encode(frames.Sos(1, 2), 11), 2, received_at=clock[0])])
    (case,) = store.cases()
    assert case.presses == 2
    assert decode_ack(result.downlinks[0].payload)[1].payload == frames.Ack(1, 11, case.case_number, 1)
    clock[0] += timedelta(minutes=31)
    processor.process_batch([make_uplink(encode(frames.Sos(1, 2), 12), 3, received_at=clock[0])])
    assert len(store.cases()) == 2


@pytest.mark.unit
def test_presses_heard_during_an_outage_are_one_case_whenever_they_arrive(
    processor: UplinkProcessor, store: CentralStore, clock: list[datetime]
) -> None:
    # A ward cut off for hours: three presses heard 10 minutes apart reach central together, newest first.
    heard = clock[0] - timedelta(hours=5)
    presses = [make_uplink(encode(frames.Sos(1, 2), seq), seq, received_at=heard + timedelta(minutes=10 * n))
               for n, seq in enumerate((20, 21, 22))]
    result = processor.process_batch(list(reversed(presses)))
    (case,) = store.cases()
    assert case.presses == 3
    assert sorted(decode_ack(d.payload)[1].payload.sos_seq for d in result.downlinks) == [20, 21, 22]


@pytest.mark.unit
def test_cancel_closes_case_and_acks_state_5(processor: UplinkProcessor, store: CentralStore) -> None:
    processor.process_batch([make_uplink(vector_hex("sos_trapped_no_gps"), 1)])
    result = processor.process_batch([make_uplink(vector_hex("sos_cancel"), 2)])
    (case,) = store.cases()
    assert case.state == "cancelled"
    assert decode_ack(result.downlinks[0].payload)[1].payload == frames.Ack(1, 3, case.case_number, 5)
    assert store.stats().open_cases == 0
    dup = processor.process_batch([make_uplink(vector_hex("sos_cancel"), 3)])
    assert decode_ack(dup.downlinks[0].payload)[1].payload == frames.Ack(1, 3, case.case_number, 5)


@pytest.mark.unit
def test_cancel_of_unknown_sos_is_refused(processor: UplinkProcessor, store: CentralStore) -> None:
    result = processor.process_batch([make_uplink(vector_hex("sos_cancel"), 4)])
    assert only_ack(result).refused[0].reason == "unknown_case"
    assert store.stats().rejected_by_reason == {"unknown_case": 1}


@pytest.mark.unit
def test_reading_level_is_datum_minus_distance(processor: UplinkProcessor, store: CentralStore) -> None:
    result = processor.process_batch([make_uplink(vector_hex("water_level_kim_long"), 5, ward="19813")])
    (reading,) = store.readings("kim_long", 10)
    assert (reading.node_id, reading.distance_mm) == (SENSOR_ID, 2350)
    assert reading.level_m == pytest.approx(8.0 - 2.35)
    assert result.downlinks == []
    processor.process_batch([make_uplink(vector_hex("water_level_fault_low_battery"), 6, ward="19813")])
    faulty = store.readings("kim_long", 10)[0]
    assert (faulty.flags, faulty.level_m) == (3, None)  # sensor fault: raw kept, no level claimed


@pytest.mark.unit
def test_node_status_is_kept(processor: UplinkProcessor, store: CentralStore) -> None:
    processor.process_batch([make_uplink(vector_hex("node_status"), 1)])
    (health,) = store.node_health()
    assert (health.node_id, health.battery_pct, health.uptime_s, health.unsent) == (SENSOR_ID, 86, 86400, 12)


@pytest.mark.unit
def test_each_rejection_is_counted_and_the_batch_goes_on(processor: UplinkProcessor, store: CentralStore) -> None:
    stranger = frames.encode(frames.Frame(0x0C000001, 1, 1, 1, frames.Sos(0, 1)), BUTTON_KEY).hex()
    _, good_payload = make_uplink(vector_hex("water_level_kim_long"), 99)
    batch = [
        ("floodmesh/v1/not-a-valid/topic", good_payload),
        (topics.uplink(WARD, GATEWAY, "sos"), b'{"msg_id": 11, "frame": "zz"}'),
        (topics.uplink(WARD, GATEWAY, "sos"), b"not json at all"),
        (topics.uplink(WARD, "gw-elsewhere", "water_level"), good_payload),
        make_uplink(vector_hex("water_level_kim_long"), 13, kind="sos"),
        make_uplink(stranger, 14),
        make_uplink(vector_hex("bad_version"), 15, kind="water_level"),
        make_uplink(vector_hex("unknown_type"), 16, kind="water_level"),
        make_uplink(vector_hex("bad_length"), 17, kind="water_level"),
        make_uplink(vector_hex("bad_tag_flipped_bit"), 18),
        make_uplink(vector_hex("sos_zero_people"), 19),
        make_uplink(vector_hex("ack_registered"), 20, kind="ack"),
        make_uplink(vector_hex("sos_medical_gps"), 21),  # the one good uplink still goes through
    ]
    result = processor.process_batch(batch)
    assert len(store.cases()) == 1
    acks = {out.topic: AppAck.model_validate_json(out.payload) for out in result.app_acks}
    ack = acks.pop(topics.app_ack(WARD, GATEWAY))
    assert ack.msg_ids == [21]
    assert {r.msg_id: r.reason for r in ack.refused} == {
        11: "invalid_envelope", 13: "topic_mismatch", 14: "unknown_node", 15: "bad_version",
        16: "unknown_type", 17: "bad_length", 18: "bad_tag", 19: "bad_value", 20: "unexpected_downlink",
    }
    # The envelope that names another gateway is refused to the gateway that published it.
    assert acks == {topics.app_ack(WARD, "gw-elsewhere"): AppAck(refused=[Refusal(msg_id=99, reason="topic_mismatch")])}
    stats = store.stats()
    assert stats.rejected_by_reason == {
        "bad_topic": 1, "invalid_envelope": 2, "topic_mismatch": 2, "unknown_node": 1, "bad_version": 1,
        "unknown_type": 1, "bad_length": 1, "bad_tag": 1, "bad_value": 1, "unexpected_downlink": 1,
    }
    assert stats.rejected == 12
    assert result.rejected == 12


@pytest.mark.unit
def test_boot_epoch_grows_across_restarts(processor: UplinkProcessor, store: CentralStore) -> None:
    first = processor.boot_epoch
    assert store.next_boot_epoch() == first + 1


@pytest.mark.unit
def test_a_reading_that_fails_is_left_unacknowledged_and_stored_once_when_resent(
    processor: UplinkProcessor, store: CentralStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A bug in the middle of a batch: that reading is not acknowledged and its event id is given back, so the
    # gateway's resend after the fix is stored (not taken for a duplicate); the batch's other readings are stored.
    def sensor(seq: int) -> tuple[str, bytes]:
        frame = frames.Frame(SENSOR_ID, 1, seq, 1_700_000_000 + 60 * seq, frames.WaterLevel(2350 + seq, 90))
        return make_uplink(frames.encode(frame, SENSOR_KEY).hex(), seq)

    assess = processor.levels.reading

    def buggy(node_id: int, boot: int, seq: int, *rest: object) -> object:
        if seq == 2:
            raise RuntimeError("a bug in the rules")
        return assess(node_id, boot, seq, *rest)  # type: ignore[arg-type]

    monkeypatch.setattr(processor.levels, "reading", buggy)
    result = processor.process_batch([sensor(1), sensor(2), sensor(3)])
    assert (only_ack(result).msg_ids, only_ack(result).refused) == ([1, 3], [])
    assert len(store.readings("kim_long", 10)) == 2
    monkeypatch.setattr(processor.levels, "reading", assess)
    resent = processor.process_batch([sensor(2)])
    assert (only_ack(resent).msg_ids, resent.duplicates) == ([2], 0)
    assert sorted(r.seq for r in store.readings("kim_long", 10)) == [1, 2, 3]
