"""Our port's packets straight off the radio's stream, past ``meshtastic``'s per-packet dict conversion.

``meshtastic`` (2.7) turns every ``FromRadio`` into a dict twice (``MessageToDict`` of the whole message,
then of the packet), logs it, and hands it to a publishing thread: ~0.35 ms of CPU per packet, which
caps a gateway at ~1,500 packets/s on a busy two-core Pi-class machine, and every SOS queued behind
that backlog waited for it (seconds under 2,000 readings/s). Our frames need none of it: the
interfaces below parse the protobuf once and publish a packet on our port, as the small dict the link
reads, on ``FRAME_TOPIC`` from the reader thread (the link's handler only enqueues). Everything else —
handshake, node database, texts, PKI, other ports — goes through the library unchanged.
"""

from typing import Any

from google.protobuf.message import DecodeError
from meshtastic.protobuf import mesh_pb2
from meshtastic.serial_interface import SerialInterface
from meshtastic.tcp_interface import TCPInterface
from pubsub import pub

from gateway.radio.meshtastic_link import FRAME_TOPIC
from protocol.mesh import FLOODMESH_PORTNUM


class _FramesFirst:
    """Mixin for a ``meshtastic`` stream interface: our port's packets skip the library's slow path."""

    def _handleFromRadio(self, fromRadioBytes: bytes) -> None:
        message = mesh_pb2.FromRadio()
        try:
            message.ParseFromString(fromRadioBytes)
        except DecodeError:
            message.Clear()  # the library logs and handles what does not parse
        packet = our_packet(message)
        if packet is None:
            super()._handleFromRadio(fromRadioBytes)  # type: ignore[misc]
            return
        pub.sendMessage(FRAME_TOPIC, packet=packet, interface=self)


def our_packet(message: mesh_pb2.FromRadio) -> dict[str, Any] | None:
    """A packet on our port as ``meshtastic`` would deliver it (only the keys the link reads), else None.

    Like the library: fields left at zero are absent (``MessageToDict``), and a packet "from" node 0
    (the radio echoing our own) is the library's to refuse.
    """
    if not message.HasField("packet"):
        return None
    packet = message.packet
    sender = getattr(packet, "from")  # "from" is a Python keyword
    if not packet.HasField("decoded") or packet.decoded.portnum != FLOODMESH_PORTNUM or sender == 0:
        return None
    out: dict[str, Any] = {"from": sender, "to": packet.to,
                           "decoded": {"portnum": FLOODMESH_PORTNUM, "payload": bytes(packet.decoded.payload)}}
    if packet.rx_rssi:
        out["rxRssi"] = packet.rx_rssi
    if packet.rx_snr:
        out["rxSnr"] = packet.rx_snr
    return out


class FramesFirstTCPInterface(_FramesFirst, TCPInterface):  # type: ignore[misc]
    """``meshtastic.tcp_interface.TCPInterface`` with our port's packets on ``FRAME_TOPIC``, read in chunks.

    The library's reader asks for one byte at a time, and its TCP link makes each a ``recv`` system
    call (~70 per reading): here one ``recv`` of up to 64 KiB feeds the next bytes. What the library
    does on an empty read (the radio closed the connection: reconnect) is unchanged.
    """

    _CHUNK = 65536

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._pending = b""
        self._pending_at = 0
        super().__init__(*args, **kwargs)

    def _readBytes(self, length: int) -> bytes | None:
        if self._pending_at >= len(self._pending):
            chunk: bytes | None = super()._readBytes(self._CHUNK)
            if not chunk:
                self._pending, self._pending_at = b"", 0  # nothing of a dead connection carries over
                return chunk
            self._pending, self._pending_at = chunk, 0
        start = self._pending_at
        self._pending_at = min(len(self._pending), start + length)
        return self._pending[start:self._pending_at]


class FramesFirstSerialInterface(_FramesFirst, SerialInterface):  # type: ignore[misc]
    """``meshtastic.serial_interface.SerialInterface`` with our port's packets on ``FRAME_TOPIC``."""
