"""Flash queue -> Meshtastic radio, one frame in flight (pure): the node's half of reliable delivery.

The head of the queue is sent with ``want_ack``; the mesh's routing ACK for its packet id removes
it. A NAK, a refusal by the radio's TX queue, or silence for ``ack_timeout_ms`` (radio not
answering, mesh down) counts as a failure and the queue backs off before the same frame goes again.
"""

from firmware import mesh_link


def const(x: int) -> int:
    """CPython stand-in for MicroPython's compile-time constant marker (the host imports us too)."""
    return x


try:  # on MicroPython the real marker: the parser folds ``_X = const(n)`` into the bytecode
    from micropython import const  # type: ignore[import-not-found,no-redef,unused-ignore]
except ImportError:
    pass


# LongFast with three hops and Meshtastic's own retransmissions can take ~20 s to come back.
ACK_TIMEOUT_MS = const(45000)


class Uplink:
    """Call ``submit`` for each frame, ``poll`` every loop turn, ``feed`` with what the UART read."""

    def __init__(self, link: "mesh_link.MeshLink", queue: object, ack_timeout_ms: int = ACK_TIMEOUT_MS) -> None:
        self.link = link
        self.queue = queue
        self.ack_timeout_ms = ack_timeout_ms
        self._pid = 0  # packet id in flight, 0 = none
        self._frame = b""
        self._deadline = 0
        self.delivered = 0

    def submit(self, frame: bytes, urgent: bool = False) -> bool:
        """Queue one of our frames (``urgent`` for SOS and cancels: never dropped)."""
        return self.queue.push(frame, urgent)

    def poll(self, now_ms: int) -> bytes:
        """UART bytes to write now (b"" for none): the head of the queue when it is due."""
        if self._pid and now_ms >= self._deadline:
            self._fail(now_ms)
        if self._pid:
            return b""
        frame = self.queue.due(now_ms)
        if not frame:
            return b""
        self._pid, data = self.link.packet(frame)
        self._frame = frame
        self._deadline = now_ms + self.ack_timeout_ms
        return data

    def _fail(self, now_ms: int) -> None:
        self._pid = 0
        self.queue.failed(now_ms)

    def feed(self, data: bytes, now_ms: int) -> list:
        """UART bytes in; our downlink frames out (ACKs and NAKs of our packets are handled here)."""
        out = []
        for ev in self.link.feed(data):
            kind = ev[0]
            if kind == mesh_link.EV_FRAME:
                out.append(ev[2])
            elif kind == mesh_link.EV_ACK and self._pid and ev[1] == self._pid:
                if ev[2] == 0:
                    self._pid = 0
                    self.queue.delivered(self._frame)
                    self.delivered += 1
                else:
                    self._fail(now_ms)
            elif kind == mesh_link.EV_QUEUED and self._pid and ev[1] == self._pid and ev[2] != 0:
                self._fail(now_ms)  # the radio's TX queue is full: try again later
        return out
