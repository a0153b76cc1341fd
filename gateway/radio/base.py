"""What a gateway needs from a radio: packets in, frames out."""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class RadioPacket:
    """One packet as the gateway's radio heard it."""

    frame: bytes
    from_node: int
    rssi: int | None = None
    snr: float | None = None


BROADCAST_NODE = 0xFFFFFFFF
"""Meshtastic's ``to`` for a message to everyone on the channel."""


@dataclass(frozen=True)
class IncomingText:
    """A plain text message (``TEXT_MESSAGE_APP``) as the gateway's radio received it.

    ``from_node`` alone proves nothing: on a channel-PSK mesh anyone can write any sender. Only a
    direct message that the radio decrypted with Meshtastic PKI (``pki_encrypted``) ties the text to
    the private key of ``public_key``, the sender's Curve25519 key the radio holds for ``from_node``.
    """

    from_node: int
    text: str
    to_node: int = BROADCAST_NODE
    pki_encrypted: bool = False
    public_key: bytes | None = None  # 32 bytes when pki_encrypted
    channel: int = 0  # the channel index the text arrived on (0: primary)


PacketHandler = Callable[[RadioPacket], None]
TextHandler = Callable[[IncomingText], None]  # ward officials' messages


class RadioLink(Protocol):
    """A gateway's connection to its radio. ``on_packet`` must return fast (it only enqueues)."""

    state: str  # "connecting" | "up" | "down"

    @property
    def node_num(self) -> int | None:
        """The gateway radio's own node number (None until the radio has said it): direct messages
        to the gateway are addressed to it."""

    def start(self, on_packet: PacketHandler) -> None:
        """Begin delivering received packets to ``on_packet``."""

    def send(self, node_id: int, frame: bytes) -> None:
        """Transmit ``frame`` addressed to ``node_id``."""

    def set_text_handler(self, handler: TextHandler) -> None:
        """Deliver plain text messages heard on the mesh to ``handler``."""

    def send_text(self, node_id: int | None, text: str) -> None:
        """Send a text message to one node, or to everyone on the channel (``None``)."""

    def close(self) -> None:
        """Stop receiving and release the radio."""
