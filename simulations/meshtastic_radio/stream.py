"""Meshtastic's client stream framing: ``0x94 0xC3`` + 2-byte big-endian length + a protobuf.

The same framing runs over TCP (port 4403) and a serial port. The client first writes 32 wake bytes
``0xC3``, which the parser must skip while hunting for ``0x94``.
"""

START1, START2 = 0x94, 0xC3
MAX_PAYLOAD = 512


def frame_stream(message: bytes) -> bytes:
    """One protobuf message in the stream framing."""
    return bytes([START1, START2, len(message) >> 8, len(message) & 0xFF]) + message


class StreamParser:
    """Splits a byte stream into protobuf payloads, resynchronising after noise."""

    def __init__(self) -> None:
        self._buf = bytearray()
        self.garbage_bytes = 0

    def feed(self, data: bytes) -> list[bytes]:
        """Add received bytes; return every complete payload now available."""
        self._buf += data
        out: list[bytes] = []
        while True:
            start = self._buf.find(bytes([START1, START2]))
            if start < 0:
                keep = 1 if self._buf.endswith(bytes([START1])) else 0
                self.garbage_bytes += len(self._buf) - keep
                del self._buf[: len(self._buf) - keep]
                return out
            self.garbage_bytes += start
            del self._buf[:start]
            if len(self._buf) < 4:
                return out
            length = (self._buf[2] << 8) | self._buf[3]
            if length > MAX_PAYLOAD:
                self.garbage_bytes += 2
                del self._buf[:2]  # a false start: hunt for the next 0x94 0xC3
                continue
            if len(self._buf) < 4 + length:
                return out
            out.append(bytes(self._buf[4 : 4 + length]))
            del self._buf[: 4 + length]
