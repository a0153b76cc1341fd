"""Meshtastic's client API (pure): our frames in ``ToRadio`` protobufs, ``FromRadio`` back to events.

On the UART each protobuf travels in the stream framing of ``firmware/stream.py``. An uplink is::

    ToRadio { packet(1): MeshPacket { to(2), channel(3), decoded(4): Data { portnum(1): PORT,
              payload(2): <our frame> }, id(6), hop_limit(9), want_ack(10) } }

The radio fills in ``from``. It answers with ``FromRadio`` messages; the ones a node acts on:
``packet`` (2) carrying our port (a downlink) or ``ROUTING_APP`` (the mesh's ACK/NAK of a
``want_ack`` packet, naming it in ``Data.request_id``), ``queueStatus`` (11: the radio took our
packet into its TX queue), ``config_complete_id`` (7: answer to our hello) and ``rebooted`` (8).
Field numbers are those of meshtastic/protobufs ``mesh.proto``; the tests check our bytes with the
real ``meshtastic`` package.
"""

from firmware import pb
from firmware.stream import StreamReader, wrap
from protocol.mesh import FLOODMESH_PORTNUM


def const(x: int) -> int:
    """CPython stand-in for MicroPython's compile-time constant marker (the host imports us too)."""
    return x


try:  # on MicroPython the real marker: the parser folds ``_X = const(n)`` into the bytecode
    from micropython import const  # type: ignore[import-not-found,no-redef,unused-ignore]
except ImportError:
    pass


# floodmesh frames ride on this private Meshtastic port (256..511 are private), shared with the gateway.
PORT = FLOODMESH_PORTNUM
ROUTING_APP = const(5)
BROADCAST = const(0xFFFFFFFF)
_U32 = const(0xFFFFFFFF)

# Event kinds returned by MeshLink.feed, as tuples (kind, ...).
EV_FRAME = "frame"  # ("frame", from_node, our_frame_bytes)
EV_ACK = "ack"  # ("ack", packet_id, error_reason): 0 = delivered, else Routing.Error
EV_QUEUED = "queued"  # ("queued", packet_id, res, free): the radio's TX queue took it (res 0) or not
EV_READY = "ready"  # ("ready", config_id): the radio answered our hello
EV_REBOOTED = "rebooted"  # ("rebooted",)


def to_radio_packet(payload: bytes, packet_id: int, to: int = BROADCAST, channel: int = 0,
                    hop_limit: int = 3, want_ack: bool = True, port: int = PORT) -> bytes:
    """A ``ToRadio`` carrying ``payload`` on ``port`` (not yet stream-framed)."""
    data = pb.f_varint(1, port) + pb.f_bytes(2, payload)
    pkt = (pb.f_fixed32(2, to) + pb.f_varint(3, channel) + pb.f_bytes(4, data) + pb.f_fixed32(6, packet_id)
           + pb.f_varint(9, hop_limit) + pb.f_varint(10, 1 if want_ack else 0))
    return pb.f_bytes(1, pkt)


def to_radio_want_config(nonce: int) -> bytes:
    """``ToRadio { want_config_id }``: the hello that makes the radio talk to a client."""
    return pb.f_varint(3, nonce or 1)


def to_radio_heartbeat() -> bytes:
    """``ToRadio { heartbeat {} }``: keeps the serial API session alive."""
    return pb.f_bytes(7, b"")


def parse_from_radio(buf: bytes, port: int = PORT) -> "tuple[object, ...] | None":
    """One ``FromRadio`` -> an event tuple, or None for what a node ignores; ValueError on garbage."""
    fs = pb.fields(buf)
    for no, _wt, v in fs:
        if no == 2 and isinstance(v, bytes):
            return _parse_packet(v, port)
        if no == 11 and isinstance(v, bytes):
            q = pb.fields(v)
            res = pb.first_int(q, 1)
            if res >= 1 << 31:  # int32 sent as a 64-bit two's complement varint
                res -= 1 << 64
            return (EV_QUEUED, pb.first_int(q, 4), res, pb.first_int(q, 2))
        if no == 7 and isinstance(v, int):
            return (EV_READY, v)
        if no == 8 and isinstance(v, int):
            return (EV_REBOOTED,)
    return None


def _parse_packet(buf: bytes, port: int) -> "tuple[object, ...] | None":
    fs = pb.fields(buf)
    data = pb.first_bytes(fs, 4)
    if data is None:
        return None  # encrypted for another channel, or no payload: not ours to read
    d = pb.fields(data)
    portnum = pb.first_int(d, 1)
    payload = pb.first_bytes(d, 2) or b""
    if portnum == port:
        return (EV_FRAME, pb.first_int(fs, 1), payload)
    if portnum == ROUTING_APP:
        req = pb.first_int(d, 6)
        if not req:
            return None
        return (EV_ACK, req, pb.first_int(pb.fields(payload), 3))
    return None


class MeshLink:
    """Our frames to UART bytes and UART bytes to events; holds the stream and packet-id state."""

    def __init__(self, first_id: int = 1, to: int = BROADCAST, channel: int = 0, hop_limit: int = 3) -> None:
        self.reader = StreamReader()
        self._id = (first_id & _U32) or 1
        self.to = to
        self.channel = channel
        self.hop_limit = hop_limit
        self.garbage = 0  # framed payloads that were not a FromRadio we could parse
        self.heard_radio = False  # any valid FromRadio since boot: the radio is alive

    def packet(self, frame: bytes, want_ack: bool = True) -> "tuple[int, bytes]":
        """(packet id, UART bytes) for one of our frames; ids are never 0 (Meshtastic's "unset")."""
        pid = self._id
        self._id = ((pid + 1) & _U32) or 1
        return pid, wrap(to_radio_packet(frame, pid, self.to, self.channel, self.hop_limit, want_ack))

    def hello(self, nonce: int) -> bytes:
        """UART bytes of the want_config hello."""
        return wrap(to_radio_want_config(nonce))

    def feed(self, data: bytes) -> "list[tuple[object, ...]]":
        """UART bytes -> the events they complete; garbage is counted and skipped, never raised."""
        out = []
        for msg in self.reader.feed(data):
            try:
                ev = parse_from_radio(msg)
            except ValueError:
                self.garbage += 1
                continue
            self.heard_radio = True
            if ev is not None:
                out.append(ev)
        return out
