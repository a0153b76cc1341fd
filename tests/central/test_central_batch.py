"""A gateway draining its outbox sends `up/batch`: each frame is accepted or refused on its own."""

import json

import pytest

from central.ingest.processor import UplinkProcessor
from central.store.base import CentralStore
from protocol import frames, topics
from protocol.envelopes import AppAck, Refusal, UplinkBatch, UplinkItem
from tests.central.central_testkit import GATEWAY, NOW, SENSOR_ID, SENSOR_KEY, WARD, encode, vector_hex

pytestmark = pytest.mark.unit


def _batch(frame_hexes: list[str], first_id: int = 1, ward: str = WARD) -> tuple[str, bytes]:
    items = [UplinkItem(msg_id=first_id + i, received_at=NOW, frame=h) for i, h in enumerate(frame_hexes)]
    env = UplinkBatch(gateway=GATEWAY, ward=ward, items=items)
    return topics.uplink(WARD, GATEWAY, "batch"), env.model_dump_json().encode()


def _reading(seq: int) -> str:
    return encode(frames.WaterLevel(6000, 90), seq, SENSOR_ID, SENSOR_KEY)


def test_every_item_is_applied_and_acknowledged(processor: UplinkProcessor, store: CentralStore) -> None:
    result = processor.process_batch([_batch([_reading(s) for s in range(5)] + [vector_hex("sos_trapped_no_gps")])])
    stats = store.stats()
    assert (stats.readings_stored, stats.sos_cases) == (5, 1)
    (ack,) = result.app_acks
    assert AppAck.model_validate_json(ack.payload) == AppAck(msg_ids=[1, 2, 3, 4, 5, 6])
    assert len(result.downlinks) >= 1  # the SOS gets its ACK downlink as if it had come alone


def test_a_bad_item_is_refused_and_the_others_go_through(processor: UplinkProcessor, store: CentralStore) -> None:
    bad = vector_hex("bad_tag_flipped_bit")
    result = processor.process_batch([_batch([_reading(1), bad, _reading(2)], first_id=10)])
    assert store.stats().readings_stored == 2
    (ack,) = result.app_acks
    assert AppAck.model_validate_json(ack.payload) == AppAck(msg_ids=[10, 12],
                                                             refused=[Refusal(msg_id=11, reason="bad_tag")])


def test_a_replayed_batch_stores_nothing_twice(processor: UplinkProcessor, store: CentralStore) -> None:
    batch = _batch([_reading(s) for s in range(3)])
    processor.process_batch([batch])
    processor.process_batch([batch])
    stats = store.stats()
    assert (stats.readings_stored, stats.duplicates) == (3, 3)


def test_an_invalid_batch_is_counted(processor: UplinkProcessor, store: CentralStore) -> None:
    processor.process_batch([(topics.uplink(WARD, GATEWAY, "batch"), b'{"items": []}')])
    assert store.stats().rejected_by_reason == {"invalid_envelope": 1}


def _raw_batch(items: list[dict[str, object]]) -> tuple[str, bytes]:
    """A batch as a gateway with a misbehaving radio might send it: items built by hand, not validated."""
    env = {"v": 1, "gateway": GATEWAY, "ward": WARD, "items": items}
    return topics.uplink(WARD, GATEWAY, "batch"), json.dumps(env).encode()


def _item(msg_id: int, frame: str, **extra: object) -> dict[str, object]:
    return {"msg_id": msg_id, "received_at": NOW.isoformat(), "frame": frame, **extra}


def test_a_signal_reading_out_of_range_never_costs_the_frame(processor: UplinkProcessor, store: CentralStore) -> None:
    # A radio reported +60 dB SNR on the SOS: the measurement is dropped and counted, the SOS is a case.
    sos = _item(1, vector_hex("sos_trapped_no_gps"), snr=60.0, rssi=-40)
    result = processor.process_batch([_raw_batch([sos, _item(2, _reading(1), rssi=999)])])
    (ack,) = result.app_acks
    assert AppAck.model_validate_json(ack.payload) == AppAck(msg_ids=[1, 2])
    stats = store.stats()
    assert (stats.sos_cases, stats.readings_stored) == (1, 1)
    assert stats.rejected_by_reason == {"signal_out_of_range": 2}
    # The same on a single-frame uplink.
    single = json.dumps({"v": 1, "msg_id": 3, "gateway": GATEWAY, "ward": WARD, **_item(3, _reading(2), snr=-99.0)})
    result = processor.process_batch([(topics.uplink(WARD, GATEWAY, "water_level"), single.encode())])
    assert AppAck.model_validate_json(result.app_acks[0].payload) == AppAck(msg_ids=[3])
    assert store.stats().readings_stored == 2


def test_an_unreadable_item_is_refused_alone(processor: UplinkProcessor, store: CentralStore) -> None:
    sos = _item(4, vector_hex("sos_trapped_no_gps"))
    items = [_item(1, _reading(1)), _item(2, "zz-not-a-frame"), {"frame": "00"}, sos]
    result = processor.process_batch([_raw_batch(items)])
    (ack,) = result.app_acks
    assert AppAck.model_validate_json(ack.payload) == AppAck(msg_ids=[1, 4],
                                                             refused=[Refusal(msg_id=2, reason="invalid_envelope")])
    stats = store.stats()
    assert (stats.readings_stored, stats.sos_cases) == (1, 1)
    assert stats.rejected_by_reason == {"invalid_envelope": 2}  # the one refused back, the one without a msg_id
