"""A water_level_batch frame becomes its readings, each deduped and assessed like a single report."""

import pytest

from central.ingest.processor import UplinkProcessor
from central.store.sqlite import CentralStore
from protocol import frames
from tests.central.central_testkit import NOW, SENSOR_ID, SENSOR_KEY, make_uplink, vector_hex

pytestmark = pytest.mark.unit

T_LAST = int(NOW.timestamp()) - 60  # the last reading of the batch, a minute before it was heard
KIM_LONG = "19813"


def batch_hex(seq: int, distances: list[int], interval_s: int = 300, boot: int = 3, flags: int = 0) -> str:
    """A batch from the Kim Long sensor whose last reading has ``seq`` and was taken at T_LAST."""
    payload = frames.WaterLevelBatch(interval_s, distances, 80, flags)
    return frames.encode(frames.Frame(SENSOR_ID, boot, seq, T_LAST, payload), SENSOR_KEY).hex()


def single_hex(seq: int, distance: int, node_ts: int, boot: int = 3) -> str:
    """A single water-level frame from the Kim Long sensor."""
    return frames.encode(frames.Frame(SENSOR_ID, boot, seq, node_ts, frames.WaterLevel(distance, 80)), SENSOR_KEY).hex()


def test_batch_becomes_one_reading_per_distance(processor: UplinkProcessor, store: CentralStore) -> None:
    distances = [2350, 2341, 2330, 2318, 2301, 2287]
    result = processor.process_batch([make_uplink(batch_hex(23, distances), 1, ward=KIM_LONG)])
    readings = sorted(store.readings("kim_long", 10), key=lambda r: r.seq)
    assert [r.seq for r in readings] == [18, 19, 20, 21, 22, 23]
    assert [r.node_ts for r in readings] == [T_LAST - 300 * k for k in (5, 4, 3, 2, 1, 0)]
    assert [r.distance_mm for r in readings] == distances
    assert [r.level_m for r in readings] == pytest.approx([8.0 - d / 1000 for d in distances])
    assert all(r.qc_reason is None for r in readings)
    assert len(result.points) == 6
    assert (result.accepted, result.duplicates, result.rejected) == (1, 0, 0)


def test_a_batch_heard_twice_and_its_readings_sent_alone_are_duplicates(
    processor: UplinkProcessor, store: CentralStore
) -> None:
    batch = batch_hex(23, [2350, 2341, 2330, 2318, 2301, 2287])
    processor.process_batch([make_uplink(batch, 1, ward=KIM_LONG), make_uplink(batch, 2, ward=KIM_LONG)])
    again = processor.process_batch([make_uplink(single_hex(21, 2318, T_LAST - 600), 3, ward=KIM_LONG)])
    assert len(store.readings("kim_long", 20)) == 6
    assert again.duplicates == 1
    assert store.stats().duplicates == 7


def test_batch_across_the_sequence_wrap(processor: UplinkProcessor, store: CentralStore) -> None:
    processor.process_batch([make_uplink(batch_hex(1, [2000, 2001, 2002, 2003], 60), 1, ward=KIM_LONG)])
    readings = store.readings("kim_long", 10)
    assert sorted(r.seq for r in readings) == [0, 1, 65534, 65535]
    assert {r.seq: r.node_ts for r in readings}[65534] == T_LAST - 180


def test_a_reading_without_echo_is_a_sensor_fault(processor: UplinkProcessor, store: CentralStore) -> None:
    flags = frames.WL_LOW_BATTERY
    processor.process_batch([make_uplink(batch_hex(30, [2300, frames.NO_READING, 2290], flags=flags), 1,
                                         ward=KIM_LONG)])
    by_seq = {r.seq: r for r in store.readings("kim_long", 10)}
    assert by_seq[29].qc_reason == "sensor_fault"
    assert by_seq[29].level_m is None
    assert by_seq[29].flags == frames.WL_SENSOR_FAULT | frames.WL_LOW_BATTERY
    assert by_seq[30].flags == frames.WL_LOW_BATTERY
    assert by_seq[30].level_m == pytest.approx(8.0 - 2.29)


def test_the_protocol_vector_is_accepted_on_its_own_topic(processor: UplinkProcessor, store: CentralStore) -> None:
    result = processor.process_batch([make_uplink(vector_hex("water_level_batch_six"), 1, ward=KIM_LONG)])
    assert result.accepted == 1
    assert sorted(r.seq for r in store.readings("kim_long", 10)) == [18, 19, 20, 21, 22, 23]
