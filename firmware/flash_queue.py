"""Frames waiting for the radio, kept in flash (pure file I/O): retry with backoff, SOS never dropped.

A flood can cut a node off for hours. Every frame goes through this queue; the head is sent, and
leaves only when the mesh confirms it (a Meshtastic routing ACK). When the queue is full the oldest
telemetry is dropped to make room; an SOS (or its cancel) is never dropped: a full queue of SOS
still takes one more, because a resident's request outranks a flash page.

File format: records of ``urgent u8 | length u8 | frame``. A record cut short by a brown-out, or
a corrupt byte, ends the load there: what came before is kept, the rest is lost (and counted).
"""


def const(x: int) -> int:
    """CPython stand-in for MicroPython's compile-time constant marker (the host imports us too)."""
    return x


try:  # on MicroPython the real marker: the parser folds ``_X = const(n)`` into the bytecode
    from micropython import const  # type: ignore[import-not-found,no-redef,unused-ignore]
except ImportError:
    pass


CAPACITY = const(48)
# Backoff after a failed send: 2 s, doubling, at most 5 min (the radio may be rebooting or the mesh down).
_BACKOFF0_MS = const(2000)
_BACKOFF_MAX_MS = const(300000)


def backoff_ms(failures: int) -> int:
    """Wait before the next attempt after ``failures`` consecutive failures (>= 1)."""
    if failures > 8:
        return _BACKOFF_MAX_MS
    return min(_BACKOFF_MAX_MS, _BACKOFF0_MS << (failures - 1))


class FlashQueue:
    """FIFO of (urgent, frame); ``path`` None keeps it in RAM only (virtual nodes, tests)."""

    def __init__(self, path: "str | None" = "queue.bin", capacity: int = CAPACITY) -> None:
        self.path = path
        self.capacity = capacity
        self.items = []  # [urgent, frame] pairs, oldest first
        self.dropped = 0  # telemetry frames given up to make room
        self.lost_on_load = 0  # bytes of a corrupt file tail thrown away
        self.failures = 0
        self.next_ms = 0
        if path is not None:
            self._load()

    def __len__(self) -> int:
        return len(self.items)

    def _load(self) -> None:
        try:
            with open(self.path, "rb") as fh:
                raw = fh.read()
        except OSError:
            return
        i = 0
        n = len(raw)
        while i + 2 <= n:
            urgent, ln = raw[i], raw[i + 1]
            if urgent > 1 or ln == 0 or i + 2 + ln > n:
                break
            self.items.append([urgent == 1, bytes(raw[i + 2 : i + 2 + ln])])
            i += 2 + ln
        self.lost_on_load = n - i
        if self.lost_on_load:
            self._save()

    def _save(self) -> None:
        if self.path is None:
            return
        tmp = self.path + ".tmp"
        with open(tmp, "wb") as fh:  # write-then-rename: a brown-out mid-write keeps the old queue
            for urgent, frame in self.items:
                fh.write(bytes((1 if urgent else 0, len(frame))))
                fh.write(frame)
        import os

        os.rename(tmp, self.path)

    def push(self, frame: bytes, urgent: bool = False) -> bool:
        """Queue ``frame``; False when it was refused (empty, too long, already queued, or no room)."""
        if not frame or len(frame) > 255:
            return False
        for item in self.items:
            if item[1] == frame:
                return False  # a retransmission of what is already waiting (same bytes, same event)
        if len(self.items) >= self.capacity:
            victim = -1
            for i in range(len(self.items)):
                if not self.items[i][0]:
                    victim = i
                    break
            if victim >= 0:
                self.items.pop(victim)
                self.dropped += 1
            elif not urgent:
                self.dropped += 1
                return False  # a queue full of SOS keeps them all; the new reading goes
        self.items.append([urgent, frame])
        self._save()
        return True

    def due(self, now_ms: int) -> bytes:
        """The head frame when its (re)send time has come, else b""."""
        if not self.items or now_ms < self.next_ms:
            return b""
        return self.items[0][1]

    def delivered(self, frame: bytes) -> None:
        """The mesh confirmed ``frame``: forget it and send the next one at once."""
        for i in range(len(self.items)):
            if self.items[i][1] == frame:
                self.items.pop(i)
                self._save()
                break
        self.failures = 0
        self.next_ms = 0

    def failed(self, now_ms: int) -> None:
        """The head was not confirmed (NAK, or no answer in time): back off before trying again."""
        self.failures += 1
        self.next_ms = now_ms + backoff_ms(self.failures)
