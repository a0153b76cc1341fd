"""A gateway draining its outbox sends `up/batch`: each frame is accepted or refused on its own."""

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
