"""The radio frame codec: the one place where floodmesh frames become bytes and back.

Layout (big-endian), 14-byte header + payload + 6-byte tag::

    version u8 | type u8 | node_id u32 | boot_epoch u16 | seq u16 | node_ts u32 | payload | tag[6]

``tag`` is HMAC-SHA256 over everything before it, keyed with the node's key, truncated to 6 bytes:
a water-level reading is 24 bytes on air, and a forged frame passes with odds of 1 in 2**48.
For an uplink ``node_id`` is the sender; for a downlink (ACK, config) it is the addressee, and the
frame is tagged with that node's key so the node can tell central's answer from a neighbour's noise.

This module runs on MicroPython too (it is copied onto the ESP32): no ``typing`` imports, no
dataclasses, only ``struct`` and ``hashlib``. Annotations are parsed and ignored there.
"""

import struct

from protocol.hmac_sha256 import equal_tags, hmac_sha256

VERSION = 1
TAG_LEN = 6
HEADER_FMT = ">BBIHHI"
HEADER_LEN = 14

# Frame types. Uplinks below 0x80, downlinks from 0x80.
T_WATER_LEVEL = 0x01
T_SOS = 0x02
T_SOS_CANCEL = 0x03
T_NODE_STATUS = 0x04
T_WATER_LEVEL_BATCH = 0x05
T_ACK = 0x81
T_CONFIG = 0x82

TYPE_NAMES = {
    T_WATER_LEVEL: "water_level",
    T_SOS: "sos",
    T_SOS_CANCEL: "sos_cancel",
    T_NODE_STATUS: "node_status",
    T_WATER_LEVEL_BATCH: "water_level_batch",
    T_ACK: "ack",
    T_CONFIG: "config",
}

# SOS kinds and vulnerable-people flags, as the button's menu encodes them.
SOS_KINDS = ("help", "medical", "trapped", "evacuation", "supplies")
VULNERABLE_FLAGS = (("pregnant", 1), ("elderly", 2), ("disabled", 4), ("chronic_illness", 8))

# Case states an ACK can report back to the button's LED.
ACK_STATES = ("none", "registered", "acknowledged", "dispatched", "resolved", "cancelled")

# Water-level flags set by the node itself.
WL_SENSOR_FAULT = 1
WL_LOW_BATTERY = 2
# A batch carries at most this many readings (37 payload bytes, a 57-byte frame).
MAX_BATCH = 16
# In a batch a reading with no trustworthy echo is this distance (it gets WL_SENSOR_FAULT when split).
NO_READING = 0xFFFF

_U32 = 0xFFFFFFFF


class FrameError(ValueError):
    """A frame that cannot be accepted; ``reason`` is a short stable code for counting."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(reason + (": " + detail if detail else ""))
        self.reason = reason
        self.detail = detail


class _Payload:
    """Base for payloads: equality and repr by fields, so decoded frames compare to vectors."""

    FIELDS: tuple = ()

    def fields(self) -> dict:
        """The payload as a plain dict (the shape used in test vectors and JSON)."""
        return {name: getattr(self, name) for name in self.FIELDS}

    def pack(self) -> bytes:
        """The payload's bytes on air; every payload type packs its own fields."""
        return b""

    def __eq__(self, other: object) -> bool:
        return type(self) is type(other) and self.fields() == other.fields()  # type: ignore[attr-defined,unused-ignore]

    def __repr__(self) -> str:
        return type(self).__name__ + repr(self.fields())


class WaterLevel(_Payload):
    """Raw distance from the sensor down to the water; central turns it into a level."""

    FIELDS = ("distance_mm", "battery_pct", "flags")

    def __init__(self, distance_mm: int, battery_pct: int, flags: int = 0) -> None:
        _check(0 <= distance_mm <= 0xFFFF, "distance_mm")
        _check(0 <= battery_pct <= 100, "battery_pct")
        _check(0 <= flags <= 0xFF, "flags")
        self.distance_mm = distance_mm
        self.battery_pct = battery_pct
        self.flags = flags

    def pack(self) -> bytes:
        return struct.pack(">HBB", self.distance_mm, self.battery_pct, self.flags)


class WaterLevelBatch(_Payload):
    """``count`` readings taken ``interval_s`` apart; the frame's header names the last one.

    The batch occupies ``count`` consecutive sequence numbers ending at the header's ``seq``, and the
    last reading was taken at the header's ``node_ts``: ``split_batch`` turns it back into the
    ``count`` single WaterLevel frames, so every tier dedupes readings by (node, boot, seq) as before.
    ``battery_pct`` and ``flags`` are the node's at the last reading; a distance of ``NO_READING``
    is a reading without a trustworthy echo.
    """

    FIELDS = ("interval_s", "distances_mm", "battery_pct", "flags")

    def __init__(self, interval_s: int, distances_mm: list, battery_pct: int, flags: int = 0) -> None:
        _check(1 <= len(distances_mm) <= MAX_BATCH, "count")
        _check(0 <= interval_s <= 0xFFFF, "interval_s")
        for d in distances_mm:
            _check(0 <= d <= 0xFFFF, "distance_mm")
        _check(0 <= battery_pct <= 100, "battery_pct")
        _check(0 <= flags <= 0xFF, "flags")
        self.interval_s = interval_s
        self.distances_mm = list(distances_mm)
        self.battery_pct = battery_pct
        self.flags = flags

    def pack(self) -> bytes:
        n = len(self.distances_mm)
        return (struct.pack(">BH", n, self.interval_s) + struct.pack(">%dH" % n, *self.distances_mm)
                + struct.pack(">BB", self.battery_pct, self.flags))


class Sos(_Payload):
    """A resident's emergency request; GPS in microdegrees when the button has a fix."""

    FIELDS = ("kind", "people", "vulnerable", "lat_e6", "lon_e6")

    def __init__(
        self, kind: int, people: int, vulnerable: int = 0, lat_e6: "int | None" = None, lon_e6: "int | None" = None
    ) -> None:
        _check(0 <= kind < len(SOS_KINDS), "kind")
        _check(1 <= people <= 255, "people")
        _check(0 <= vulnerable <= 0x0F, "vulnerable")
        _check((lat_e6 is None) == (lon_e6 is None), "gps")
        if lat_e6 is not None and lon_e6 is not None:
            _check(-90000000 <= lat_e6 <= 90000000, "lat_e6")
            _check(-180000000 <= lon_e6 <= 180000000, "lon_e6")
        self.kind = kind
        self.people = people
        self.vulnerable = vulnerable
        self.lat_e6 = lat_e6
        self.lon_e6 = lon_e6

    def pack(self) -> bytes:
        head = struct.pack(">BBB", self.kind, self.people, self.vulnerable)
        if self.lat_e6 is None or self.lon_e6 is None:
            return head
        return head + struct.pack(">ii", self.lat_e6, self.lon_e6)


class SosCancel(_Payload):
    """The resident withdraws the SOS sent with sequence ``sos_seq`` (same boot epoch)."""

    FIELDS = ("sos_seq",)

    def __init__(self, sos_seq: int) -> None:
        _check(0 <= sos_seq <= 0xFFFF, "sos_seq")
        self.sos_seq = sos_seq

    def pack(self) -> bytes:
        return struct.pack(">H", self.sos_seq)


class NodeStatus(_Payload):
    """Periodic health: battery, uptime, and how many frames wait unsent in flash."""

    FIELDS = ("battery_pct", "uptime_s", "unsent")

    def __init__(self, battery_pct: int, uptime_s: int, unsent: int) -> None:
        _check(0 <= battery_pct <= 100, "battery_pct")
        _check(0 <= uptime_s <= _U32, "uptime_s")
        _check(0 <= unsent <= 0xFFFF, "unsent")
        self.battery_pct = battery_pct
        self.uptime_s = uptime_s
        self.unsent = unsent

    def pack(self) -> bytes:
        return struct.pack(">BIH", self.battery_pct, self.uptime_s, self.unsent)


class Ack(_Payload):
    """Downlink: the SOS (``sos_boot``, ``sos_seq``) is case ``case_number``, now in ``state``.

    The SOS is named by its boot epoch as well as its sequence: the header's epoch is the sender's,
    and without it an ACK from before the button rebooted could light a new, unanswered SOS.
    """

    FIELDS = ("sos_boot", "sos_seq", "case_number", "state")

    def __init__(self, sos_boot: int, sos_seq: int, case_number: int, state: int) -> None:
        _check(0 <= sos_boot <= 0xFFFF, "sos_boot")
        _check(0 <= sos_seq <= 0xFFFF, "sos_seq")
        _check(0 <= case_number <= _U32, "case_number")
        _check(0 <= state < len(ACK_STATES), "state")
        self.sos_boot = sos_boot
        self.sos_seq = sos_seq
        self.case_number = case_number
        self.state = state

    def pack(self) -> bytes:
        return struct.pack(">HHIB", self.sos_boot, self.sos_seq, self.case_number, self.state)


class Config(_Payload):
    """Downlink: how often a sensor should report."""

    FIELDS = ("report_interval_s",)

    def __init__(self, report_interval_s: int) -> None:
        _check(1 <= report_interval_s <= 0xFFFF, "report_interval_s")
        self.report_interval_s = report_interval_s

    def pack(self) -> bytes:
        return struct.pack(">H", self.report_interval_s)


def _check(ok: bool, field: str) -> None:
    if not ok:
        raise FrameError("bad_value", field)


def _unpack_water_level(body: bytes) -> WaterLevel:
    d, b, f = struct.unpack(">HBB", body)
    return WaterLevel(d, b, f)


def _unpack_water_level_batch(body: bytes) -> WaterLevelBatch:
    n = body[0]
    if len(body) != 5 + 2 * n:
        raise FrameError("bad_length", "water_level_batch of %d readings in %d bytes" % (n, len(body)))
    interval = struct.unpack(">H", body[1:3])[0]
    distances = list(struct.unpack(">%dH" % n, body[3 : 3 + 2 * n]))
    b, f = struct.unpack(">BB", body[3 + 2 * n :])
    return WaterLevelBatch(interval, distances, b, f)


def _unpack_sos(body: bytes) -> Sos:
    kind, people, vulnerable = struct.unpack(">BBB", body[:3])
    if len(body) == 3:
        return Sos(kind, people, vulnerable)
    lat, lon = struct.unpack(">ii", body[3:])
    return Sos(kind, people, vulnerable, lat, lon)


def _unpack_sos_cancel(body: bytes) -> SosCancel:
    return SosCancel(struct.unpack(">H", body)[0])


def _unpack_node_status(body: bytes) -> NodeStatus:
    b, up, unsent = struct.unpack(">BIH", body)
    return NodeStatus(b, up, unsent)


def _unpack_ack(body: bytes) -> Ack:
    boot, seq, case, state = struct.unpack(">HHIB", body)
    return Ack(boot, seq, case, state)


def _unpack_config(body: bytes) -> Config:
    return Config(struct.unpack(">H", body)[0])


# type -> (allowed payload lengths, unpacker)
_CODECS = {
    T_WATER_LEVEL: ((4,), _unpack_water_level),
    T_SOS: ((3, 11), _unpack_sos),
    T_SOS_CANCEL: ((2,), _unpack_sos_cancel),
    T_NODE_STATUS: ((7,), _unpack_node_status),
    T_WATER_LEVEL_BATCH: (tuple(range(7, 6 + 2 * MAX_BATCH, 2)), _unpack_water_level_batch),
    T_ACK: ((9,), _unpack_ack),
    T_CONFIG: ((2,), _unpack_config),
}

_PAYLOAD_TYPES = {
    WaterLevel: T_WATER_LEVEL,
    Sos: T_SOS,
    SosCancel: T_SOS_CANCEL,
    NodeStatus: T_NODE_STATUS,
    WaterLevelBatch: T_WATER_LEVEL_BATCH,
    Ack: T_ACK,
    Config: T_CONFIG,
}


class Frame:
    """One decoded, authenticated frame."""

    def __init__(self, node_id: int, boot_epoch: int, seq: int, node_ts: int, payload: _Payload) -> None:
        _check(0 <= node_id <= _U32, "node_id")
        _check(0 <= boot_epoch <= 0xFFFF, "boot_epoch")
        _check(0 <= seq <= 0xFFFF, "seq")
        _check(0 <= node_ts <= _U32, "node_ts")
        self.node_id = node_id
        self.boot_epoch = boot_epoch
        self.seq = seq
        self.node_ts = node_ts
        self.payload = payload

    @property
    def ftype(self) -> int:
        """The numeric frame type of this frame's payload."""
        return _PAYLOAD_TYPES[type(self.payload)]

    @property
    def kind(self) -> str:
        """The frame type's name, e.g. ``"sos"``."""
        return TYPE_NAMES[self.ftype]

    @property
    def event_id(self) -> "tuple[int, int, int]":
        """(node id, boot epoch, sequence): the dedupe key in every tier."""
        return (self.node_id, self.boot_epoch, self.seq)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Frame):
            return False
        return self.event_id == other.event_id and self.node_ts == other.node_ts and self.payload == other.payload

    def __repr__(self) -> str:
        return "Frame(%s %d/%d/%d @%d %r)" % (
            self.kind, self.node_id, self.boot_epoch, self.seq, self.node_ts, self.payload
        )


def encode(frame: Frame, key: bytes) -> bytes:
    """Frame -> bytes on air, tagged with ``key``."""
    head = struct.pack(
        HEADER_FMT, VERSION, frame.ftype, frame.node_id, frame.boot_epoch, frame.seq, frame.node_ts
    )
    body = head + frame.payload.pack()
    return body + hmac_sha256(key, body)[:TAG_LEN]


def peek_node_id(data: bytes) -> int:
    """The node id of a frame, before its key is known (to look the key up)."""
    _check_envelope(data)
    return int(struct.unpack(">I", data[2:6])[0])


def _check_envelope(data: bytes) -> "tuple[int, tuple]":
    if len(data) < HEADER_LEN + TAG_LEN:
        raise FrameError("too_short", "%d bytes" % len(data))
    if data[0] != VERSION:
        raise FrameError("bad_version", "version %d" % data[0])
    codec = _CODECS.get(data[1])
    if codec is None:
        raise FrameError("unknown_type", "type 0x%02x" % data[1])
    n = len(data) - HEADER_LEN - TAG_LEN
    if n not in codec[0]:
        raise FrameError("bad_length", "%s payload of %d bytes" % (TYPE_NAMES[data[1]], n))
    return data[1], codec


def decode(data: bytes, key: bytes) -> Frame:
    """Bytes on air -> Frame; raises FrameError with a reason if anything is wrong."""
    _ftype, codec = _check_envelope(data)
    body = data[:-TAG_LEN]
    if not equal_tags(hmac_sha256(key, body)[:TAG_LEN], data[-TAG_LEN:]):
        raise FrameError("bad_tag", "authentication tag does not match the node's key")
    _v, _t, node_id, boot, seq, ts = struct.unpack(HEADER_FMT, body[:HEADER_LEN])
    payload = codec[1](body[HEADER_LEN:])
    return Frame(node_id, boot, seq, ts, payload)


_PAYLOAD_CLASSES = {
    "water_level": WaterLevel,
    "sos": Sos,
    "sos_cancel": SosCancel,
    "node_status": NodeStatus,
    "water_level_batch": WaterLevelBatch,
    "ack": Ack,
    "config": Config,
}


def split_batch(frame: Frame) -> list:
    """A WaterLevelBatch frame -> its readings as single WaterLevel frames, oldest first.

    Reading ``i`` of ``count`` has ``seq - (count-1-i)`` (mod 2**16) and ``node_ts - (count-1-i) *
    interval_s``; a ``NO_READING`` distance gets WL_SENSOR_FAULT. Any other frame comes back alone.
    """
    p = frame.payload
    if not isinstance(p, WaterLevelBatch):
        return [frame]
    n = len(p.distances_mm)
    out = []
    for i in range(n):
        back = n - 1 - i
        d = p.distances_mm[i]
        flags = p.flags | WL_SENSOR_FAULT if d == NO_READING else p.flags
        ts = max(0, frame.node_ts - back * p.interval_s)
        reading = WaterLevel(d, p.battery_pct, flags)
        out.append(Frame(frame.node_id, frame.boot_epoch, (frame.seq - back) & 0xFFFF, ts, reading))
    return out


def to_fields(frame: Frame) -> dict:
    """Frame -> plain dict (the shape of test vectors and JSON envelopes)."""
    return {
        "type": frame.kind,
        "node_id": frame.node_id,
        "boot_epoch": frame.boot_epoch,
        "seq": frame.seq,
        "node_ts": frame.node_ts,
        "payload": frame.payload.fields(),
    }


def from_fields(fields: dict) -> Frame:
    """Plain dict -> Frame; raises FrameError on an unknown type or a bad value."""
    cls = _PAYLOAD_CLASSES.get(fields.get("type"))  # type: ignore[arg-type]
    if cls is None:
        raise FrameError("unknown_type", str(fields.get("type")))
    payload = cls(**fields["payload"])
    return Frame(fields["node_id"], fields["boot_epoch"], fields["seq"], fields["node_ts"], payload)
