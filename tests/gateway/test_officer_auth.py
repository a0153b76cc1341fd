"""Which texts may move a case: PKI direct messages from the key pinned for the sender's radio."""

import pytest

from gateway.officer_auth import command_refusal, refusal_text
from gateway.radio.base import BROADCAST_NODE, IncomingText
from protocol.envelopes import MESH_TEXT_MAX

pytestmark = pytest.mark.unit

GATEWAY, OFFICER, OTHER = 0x0F000001, 0x0D000001, 0x0D000002
KEY, WRONG = bytes(range(32)), bytes(range(1, 33))
PINNED = {OFFICER: KEY}


@pytest.mark.parametrize(("heard", "gateway", "reason"), [
    (IncomingText(OFFICER, "42 DONE", GATEWAY, True, KEY), GATEWAY, None),
    (IncomingText(OFFICER, "42 DONE", BROADCAST_NODE, False, None), GATEWAY, "command_not_direct"),
    (IncomingText(OFFICER, "42 DONE", OTHER, True, KEY), GATEWAY, "command_not_direct"),
    (IncomingText(OFFICER, "42 DONE", GATEWAY, True, KEY), None, "command_not_direct"),
    (IncomingText(OFFICER, "42 DONE", GATEWAY, False, None), GATEWAY, "command_not_pki"),
    (IncomingText(OFFICER, "42 DONE", GATEWAY, False, KEY), GATEWAY, "command_not_pki"),
    (IncomingText(OFFICER, "42 DONE", GATEWAY, True, None), GATEWAY, "command_not_pki"),
    (IncomingText(OTHER, "42 DONE", GATEWAY, True, KEY), GATEWAY, "command_key_not_pinned"),
    (IncomingText(OFFICER, "42 DONE", GATEWAY, True, WRONG), GATEWAY, "command_key_mismatch"),
])
def test_only_a_pki_direct_message_from_the_pinned_key_passes(
    heard: IncomingText, gateway: int | None, reason: str | None
) -> None:
    assert command_refusal(heard, gateway, PINNED) == reason


def test_the_refusal_says_what_to_do_and_fits_one_packet() -> None:
    assert refusal_text("42 ACK", "command_key_not_pinned") == (
        "42 ACK refused: this radio is not enrolled; ask the IOC to enrol it")
    long = refusal_text("Đ" * 500, "command_not_direct")
    assert len(long.encode()) <= MESH_TEXT_MAX
    assert "direct message" in long
