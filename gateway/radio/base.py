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


PacketHandler = Callable[[RadioPacket], None]
TextHandler = Callable[[int, str], None]  # (from node, text): ward officials' messages


class RadioLink(Protocol):
    """A gateway's connection to its radio. ``on_packet`` must return fast (it only enqueues)."""

    state: str  # "connecting" | "up" | "down"

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
