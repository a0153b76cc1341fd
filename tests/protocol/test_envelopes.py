"""Envelopes validate what crosses MQTT; anything off is refused with a reason."""

from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from protocol.envelopes import AppAck, Downlink, Uplink

pytestmark = pytest.mark.unit

FRAME = "01010a000001000300116553f100092e5700bcd35c2ad3fc"


def test_uplink_round_trips_through_json() -> None:
    up = Uplink(msg_id=1, gateway="gw-1", ward="19774", received_at=datetime.now(UTC), rssi=-90, snr=7.5, frame=FRAME)
    assert Uplink.model_validate_json(up.model_dump_json()) == up


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"msg_id": 0}, "msg_id"),
        ({"frame": "zz"}, "frame"),
        ({"frame": FRAME.upper()}, "frame"),
        ({"received_at": "2026-11-25T00:00:00"}, "received_at"),
        ({"extra": 1}, "extra"),
        ({"v": 2}, "v"),
    ],
)
def test_uplink_refuses_bad_fields(change: dict[str, object], field: str) -> None:
    raw = {"msg_id": 1, "gateway": "g", "ward": "w", "received_at": "2026-11-25T00:00:00+00:00", "frame": FRAME}
    with pytest.raises(ValidationError) as err:
        Uplink.model_validate({**raw, **change})
    assert field in str(err.value)


def test_downlink_and_ack_shapes() -> None:
    assert Downlink(node_id=1, frame=FRAME, case_number=42).case_number == 42
    ack = AppAck.model_validate_json('{"msg_ids": [1, 2], "refused": [{"msg_id": 3, "reason": "bad_tag"}]}')
    assert ack.refused[0].reason == "bad_tag"
