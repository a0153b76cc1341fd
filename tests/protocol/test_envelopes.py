"""Envelopes validate what crosses MQTT; anything off is refused with a reason."""

import base64
from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from protocol.envelopes import AppAck, Downlink, DutyOfficer, Uplink, WardDirectory

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


KEY_B64 = base64.b64encode(bytes(range(1, 33))).decode()


def test_an_officer_radio_key_is_base64_of_32_bytes_and_kept_canonical() -> None:
    officer = DutyOfficer(name="A", radio_node_id=0x0D000001, public_key=f"base64:{KEY_B64}")
    assert officer.public_key == KEY_B64
    assert officer.pinned_key() == bytes(range(1, 33))
    assert DutyOfficer(name="B").pinned_key() is None


@pytest.mark.parametrize(("key", "node", "message"), [
    ("not base64!", 1, "must be base64"),
    (base64.b64encode(b"x" * 31).decode(), 1, "32 bytes of base64, not 31"),
    (base64.b64encode(bytes(32)).decode(), 1, "all zeros"),
    (KEY_B64, None, "needs the radio_node_id"),
])
def test_a_bad_officer_radio_key_is_refused(key: str, node: int | None, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        DutyOfficer(name="A", radio_node_id=node, public_key=key)


def test_one_radio_cannot_be_pinned_to_two_keys() -> None:
    other = base64.b64encode(bytes(range(2, 34))).decode()
    officers = [DutyOfficer(name="A", radio_node_id=7, public_key=KEY_B64),
                DutyOfficer(name="B", radio_node_id=7, public_key=other)]
    with pytest.raises(ValidationError, match="pinned to two different public keys"):
        WardDirectory(ward="1", authority="x", officers=officers)
    same = WardDirectory(ward="1", authority="x", officers=[officers[0], officers[0].model_copy(update={"name": "C"})])
    assert same.pinned_keys() == {7: bytes(range(1, 33))}
