"""Who may move a case from a handheld radio: the sender proves its radio by Meshtastic PKI.

The ``from`` of a Meshtastic packet is written by the sender; on a channel-PSK mesh anyone with the
channel key can claim an official's node number. A direct message that the gateway's radio decrypted
with PKI is different: only the holder of the private key behind ``public_key`` could have sent it.
So a command counts only if it came that way and ``public_key`` is the key the IOC pinned for that
node in the ward directory (which also defeats a forged NodeInfo that taught our radio a wrong key).
"""

import hmac
from collections.abc import Mapping
from typing import Literal

from gateway.radio.base import IncomingText
from protocol.envelopes import MESH_TEXT_MAX

CommandRefusal = Literal["command_not_direct", "command_not_pki", "command_key_not_pinned", "command_key_mismatch"]

_WHAT_TO_DO: dict[CommandRefusal, str] = {
    "command_not_direct": "send it as a direct message to the gateway from your enrolled radio, not on the channel",
    "command_not_pki": "it was not PKI-encrypted; send it as a direct message from your enrolled radio (firmware 2.5+)",
    "command_key_not_pinned": "this radio is not enrolled; ask the IOC to enrol it",
    "command_key_mismatch": "this radio's key is not the enrolled one; ask the IOC to enrol it again",
}


def command_refusal(
    heard: IncomingText, gateway_node: int | None, pinned: Mapping[int, bytes]
) -> CommandRefusal | None:
    """Why a case command in ``heard`` may not change a case, or None if its sender is proven.

    ``gateway_node`` is the gateway radio's own node number (None while unknown: nothing is direct
    then); ``pinned`` maps enrolled radios' node ids to their public keys.
    """
    if gateway_node is None or heard.to_node != gateway_node:
        return "command_not_direct"
    if not heard.pki_encrypted or not heard.public_key:
        return "command_not_pki"
    key = pinned.get(heard.from_node)
    if key is None:
        return "command_key_not_pinned"
    if not hmac.compare_digest(key, heard.public_key):
        return "command_key_mismatch"
    return None


def refusal_text(command: str, reason: CommandRefusal) -> str:
    """The short reply sent back to the sender's radio: what was refused and what to do instead."""
    text = f"{command.strip()[:20]} refused: {_WHAT_TO_DO[reason]}"
    return text.encode("utf-8")[:MESH_TEXT_MAX].decode("utf-8", "ignore")
