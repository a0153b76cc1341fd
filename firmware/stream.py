"""Serial framing towards the Meshtastic radio (pure): 0x94 0xC3, u16 big-endian length, payload.

This is the framing of Meshtastic's client API in PROTO mode. The payload is a protobuf ``ToRadio``
(radio-bound) or ``FromRadio`` (host-bound), built and parsed by ``firmware/mesh_link.py``.
"""

START1 = 0x94
START2 = 0xC3
MAX_LEN = 512  # Meshtastic refuses longer packets; a bigger length means we lost sync


def wrap(payload: bytes) -> bytes:
    """One payload -> the bytes to write to the UART."""
    n = len(payload)
    if n > MAX_LEN:
        raise ValueError("payload too long")
    return bytes((START1, START2, n >> 8, n & 0xFF)) + payload


class StreamReader:
    """Reassembles payloads from UART reads of any size; skips noise (the radio also logs text)."""

    def __init__(self) -> None:
        self._buf = b""

    def feed(self, data: bytes) -> "list[bytes]":
        """Append bytes read from the UART; return every payload now complete."""
        buf = self._buf + data
        out = []
        while True:
            i = buf.find(bytes((START1,)))
            if i < 0:
                buf = b""
                break
            buf = buf[i:]
            if len(buf) < 2:
                break
            if buf[1] != START2:
                buf = buf[1:]  # a stray 0x94 in debug text: resync on the next one
                continue
            if len(buf) < 4:
                break
            n = (buf[2] << 8) | buf[3]
            if n > MAX_LEN:
                buf = buf[1:]
                continue
            if len(buf) < 4 + n:
                break
            out.append(buf[4 : 4 + n])
            buf = buf[4 + n :]
        self._buf = buf
        return out
