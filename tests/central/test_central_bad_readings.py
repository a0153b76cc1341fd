"""Bad water-level input: flagged with a reason and counted, never an alarm, and the batch goes on."""

from datetime import datetime, timedelta

import pytest

from central.geo.ward_locator import WardLocator
from central.ingest.processor import UplinkProcessor
from central.store.base import CentralStore
from central.telemetry.stations import Station
from protocol import frames, topics
from protocol.envelopes import Uplink
from protocol.registry import NodeRecord, NodeRegistry
from tests.central.central_testkit import GATEWAY, NOW, SENSOR_ID, SENSOR_KEY

WARD = "19813"
STRAY_ID = 0x0A0000FF  # a sensor registered without a station


def uplink(seq: int, distance_mm: int, sent: datetime, node_id: int = SENSOR_ID, flags: int = 0) -> tuple[str, bytes]:
    frame = frames.Frame(node_id, 1, seq, int(sent.timestamp()), frames.WaterLevel(distance_mm, 80, flags))
    hexed = frames.encode(frame, SENSOR_KEY).hex()
    env = Uplink(msg_id=seq + node_id % 7, gateway=GATEWAY, ward=WARD, received_at=NOW, frame=hexed)
    return topics.uplink(WARD, GATEWAY, "water_level"), env.model_dump_json().encode()


@pytest.mark.unit
def test_bad_readings_are_flagged_counted_and_raise_nothing(
    registry: NodeRegistry, locator: WardLocator, stations: dict[str, Station], store: CentralStore
) -> None:
    registry = NodeRegistry([*registry, NodeRecord(STRAY_ID, "water_level", SENSOR_KEY, WARD)])
    processor = UplinkProcessor(registry, locator, stations, store, clock=lambda: NOW)
    calm = [uplink(i, 7500 - i, NOW - timedelta(minutes=5 * (10 - i))) for i in range(1, 10)]  # 0.5 m, alive
    bad = [
        uplink(20, 0xFFFF, NOW),  # no echo: -57.5 m
        uplink(21, 500, NOW),  # 7.5 m: above the 1999 record + 1.5 m, a jump of 7 m (spike fail)
        uplink(22, 5000, NOW + timedelta(days=2)),  # 3.0 m, but the sensor's clock is two days ahead
        uplink(23, 5000, NOW - timedelta(days=30)),  # a month old
        uplink(24, 5000, NOW, flags=frames.WL_SENSOR_FAULT),
        uplink(1, 5000, NOW, node_id=STRAY_ID),
    ]
    result = processor.process_batch([*calm, *bad, uplink(30, 7489, NOW)])
    assert (result.accepted, result.rejected) == (16, 0)
    flagged = {r.seq: (r.qc_flag, r.qc_reason) for r in store.readings("kim_long", 50) if r.qc_flag != 1}
    assert flagged == {20: (4, "gross_range"), 21: (4, "spike"), 22: (4, "timestamp"), 23: (4, "timestamp"),
                       24: (9, "sensor_fault")}
    stray = store.read_all("SELECT qc_flag, qc_reason, level_m FROM readings WHERE station_id IS NULL")
    assert stray == [(9, "unknown_station", None)]
    assert store.stats().flagged_by_reason == {"gross_range": 1, "spike": 1, "timestamp": 2, "sensor_fault": 1,
                                               "unknown_station": 1}
    assert (store.alerts(), result.alerts, result.downlinks) == ([], [], [])
    assert processor.levels.states["kim_long"].alert == "none"
