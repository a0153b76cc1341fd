"""A tiny protobuf wire-format codec (pure): just what the Meshtastic client API needs.

Encodes varint, fixed32 and length-delimited fields; decodes any message into (field, wire type,
value) triples so unknown fields are skipped, as protobuf demands. Garbage raises ValueError.
"""

_VARINT = 0
_FIXED64 = 1
_LEN = 2
_FIXED32 = 5


def varint(n: int) -> bytes:
    """Base-128 varint; a negative int32/int64 is sent as its 64-bit two's complement (10 bytes)."""
    if n < 0:
        n += 1 << 64
    out = bytearray()
    while n > 0x7F:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def f_varint(no: int, n: int) -> bytes:
    """A varint field (uint32, int32, bool, enum); proto3 omits zeros, and so do we."""
    return varint(no << 3) + varint(n) if n else b""


def f_fixed32(no: int, n: int) -> bytes:
    """A fixed32 field (Meshtastic node numbers and packet ids), little-endian."""
    if not n:
        return b""
    return varint((no << 3) | _FIXED32) + bytes((n & 0xFF, (n >> 8) & 0xFF, (n >> 16) & 0xFF, (n >> 24) & 0xFF))


def f_bytes(no: int, data: bytes) -> bytes:
    """A length-delimited field (bytes, string or an embedded message), sent even when empty."""
    return varint((no << 3) | _LEN) + varint(len(data)) + data


def _read_varint(buf: bytes, i: int) -> "tuple[int, int]":
    n = 0
    shift = 0
    while True:
        if i >= len(buf) or shift > 63:
            raise ValueError("truncated varint")
        b = buf[i]
        i += 1
        n |= (b & 0x7F) << shift
        if not b & 0x80:
            return n, i
        shift += 7


def fields(buf: bytes) -> "list[tuple[int, int, int | bytes]]":
    """Every field of one message as (number, wire type, int or bytes); raises ValueError on garbage."""
    out = []
    i = 0
    n = len(buf)
    while i < n:
        key, i = _read_varint(buf, i)
        no = key >> 3
        wt = key & 7
        if no == 0:
            raise ValueError("field number 0")
        v: "int | bytes" = 0
        if wt == _VARINT:
            v, i = _read_varint(buf, i)
        elif wt == _FIXED32 or wt == _FIXED64:
            w = 4 if wt == _FIXED32 else 8
            if i + w > n:
                raise ValueError("truncated fixed field")
            v = int.from_bytes(buf[i : i + w], "little")
            i += w
        elif wt == _LEN:
            ln, i = _read_varint(buf, i)
            if i + ln > n:
                raise ValueError("truncated length-delimited field")
            v = bytes(buf[i : i + ln])
            i += ln
        else:
            raise ValueError("wire type %d" % wt)
        out.append((no, wt, v))
    return out


def first_int(fs: "list[tuple[int, int, int | bytes]]", no: int, default: int = 0) -> int:
    """The integer value of field ``no`` (the last one wins, as in protobuf), or ``default``.

    A field of the right number but the wrong wire type is garbage and ignored.
    """
    v = default
    for f in fs:
        x = f[2]
        if f[0] == no and isinstance(x, int):
            v = x
    return v


def first_bytes(fs: "list[tuple[int, int, int | bytes]]", no: int) -> "bytes | None":
    """The bytes of length-delimited field ``no`` (the last one wins), or None."""
    v = None
    for f in fs:
        x = f[2]
        if f[0] == no and isinstance(x, bytes):
            v = x
    return v
