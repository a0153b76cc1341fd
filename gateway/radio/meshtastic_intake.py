"""Our port's packets straight off the radio's stream, past ``meshtastic``'s per-packet dict conversion.

``meshtastic`` (2.7) reads its stream a byte per loop, turns every ``FromRadio`` into a dict twice
(``MessageToDict`` of the whole message, then of the packet), logs it, and hands it to a publishing
thread: ~0.5 ms of CPU per packet, which capped the gateway at ~1,200-1,900 packets/s on this busy
two-core machine, and every SOS queued behind that backlog waited for it (seconds under 2,000
readings/s). Our frames need none of it: the interfaces below parse the protobuf once and publish a
packet on our port, as the small dict the link reads, on ``FRAME_TOPIC`` from the reader thread (the
link's handler only enqueues); the TCP one also reads in chunks. Everything else — handshake, node
database, texts, PKI, other ports — goes through the library unchanged. Within what one read brings,
SOS frames are handed over first.
"""

import logging
from typing import Any

from google.protobuf.message import DecodeError
from meshtastic.protobuf import mesh_pb2
from meshtastic.serial_interface import SerialInterface
from meshtastic.tcp_interface import TCPInterface
from pubsub import pub

from gateway.radio.meshtastic_link import FRAME_TOPIC
from protocol.frames import T_SOS, T_SOS_CANCEL
from protocol.mesh import FLOODMESH_PORTNUM

log = logging.getLogger(__name__)

_START = bytes([0x94, 0xC3])  # meshtastic.stream_interface START1, START2
_HEADER = 4
_MAX_PAYLOAD = 512  # meshtastic.stream_interface.MAX_TO_FROM_RADIO_SIZE
_SOS, _SOS_CANCEL = bytes([T_SOS]), bytes([T_SOS_CANCEL])


class _FramesFirst:
    """Mixin for a ``meshtastic`` stream interface: our port's packets skip the library's slow path."""

    def _handleFromRadio(self, fromRadioBytes: bytes) -> None:
        self._dispatch(fromRadioBytes, parsed(fromRadioBytes))

    def _dispatch(self, raw: bytes, message: mesh_pb2.FromRadio) -> None:
        packet = our_packet(message)
        if packet is None:
            super()._handleFromRadio(raw)  # type: ignore[misc]
            return
        pub.sendMessage(FRAME_TOPIC, packet=packet, interface=self)

    def _handle_all(self, payloads: list[bytes]) -> None:
        """Everything one read brought, SOS frames first: when the reader is behind (a busy CPU),
        a read holds many readings, and an SOS among them need not wait for them to be handed over."""
        messages = [(raw, parsed(raw)) for raw in payloads]
        urgent = [m for m in messages if is_urgent(m[1])]
        for raw, message in urgent + [m for m in messages if not is_urgent(m[1])]:
            try:
                self._dispatch(raw, message)
            except Exception:  # one bad packet must not stop the radio (as in the library)
                log.exception("radio stream: a packet could not be handled; reading on")


def parsed(raw: bytes) -> mesh_pb2.FromRadio:
    """``raw`` as a ``FromRadio``; empty when it does not parse (the library logs and handles that)."""
    message = mesh_pb2.FromRadio()
    try:
        message.ParseFromString(raw)
    except DecodeError:
        message.Clear()
    return message


def is_urgent(message: mesh_pb2.FromRadio) -> bool:
    """An SOS or SOS-cancel frame on our port (byte 1 of a frame is its type; the tag is checked later)."""
    if not message.HasField("packet") or not message.packet.HasField("decoded"):
        return False
    decoded = message.packet.decoded
    return decoded.portnum == FLOODMESH_PORTNUM and decoded.payload[1:2] in (_SOS, _SOS_CANCEL)


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

    The library's reader takes one byte per loop (and its TCP link one ``recv`` system call per byte,
    ~70 per reading): it was half the gateway's CPU under 2,000 readings/s. This reader takes what
    the socket has (up to 1 MiB: when the gateway is behind, the whole backlog, so that the SOS in it
    is handed over before the readings ahead of it) and splits it into frames with ``StreamFrames``. What the library
    does on an empty read (the radio closed the connection: reconnect) is unchanged.
    """

    _CHUNK = 1 << 20

    def _StreamInterface__reader(self) -> None:  # replaces StreamInterface.__reader, started by its __init__
        frames = StreamFrames()
        try:
            while not self._wantExit:
                chunk = self._readBytes(self._CHUNK)  # b"" after a reconnect, None once closed
                if not chunk:
                    frames = StreamFrames()  # nothing of a dead connection carries over
                    continue
                self._handle_all(frames.feed(chunk))
        except OSError as exc:
            if not self._wantExit:
                log.error("radio stream: %s; the link reconnects", exc)
        except Exception:
            log.exception("radio stream: reader stopped; the link reconnects")
        finally:
            self._disconnected()


class StreamFrames:
    """Splits Meshtastic's client stream (``0x94 0xC3``, big-endian u16 length, protobuf) into payloads.

    As the library's reader: bytes before a start marker are skipped, and a length over 512 is a
    false start (the hunt resumes after its marker).
    """

    def __init__(self) -> None:
        self._buf = bytearray()
        self.skipped_bytes = 0

    def feed(self, data: bytes) -> list[bytes]:
        """Add bytes from the stream; return every payload now complete."""
        self._buf += data
        out: list[bytes] = []
        while True:
            start = self._buf.find(_START)
            if start < 0:
                keep = 1 if self._buf.endswith(_START[:1]) else 0
                self.skipped_bytes += len(self._buf) - keep
                del self._buf[: len(self._buf) - keep]
                return out
            self.skipped_bytes += start
            del self._buf[:start]
            if len(self._buf) < _HEADER:
                return out
            length = (self._buf[2] << 8) | self._buf[3]
            if length > _MAX_PAYLOAD:
                self.skipped_bytes += 2
                del self._buf[:2]
                continue
            if len(self._buf) < _HEADER + length:
                return out
            out.append(bytes(self._buf[_HEADER : _HEADER + length]))
            del self._buf[: _HEADER + length]


class FramesFirstSerialInterface(_FramesFirst, SerialInterface):  # type: ignore[misc]
    """``meshtastic.serial_interface.SerialInterface`` with our port's packets on ``FRAME_TOPIC``."""
