"""A river/street water-level sensor (pure logic): when to report, and the frames it sends.

Reports every ``interval_s``; while the water moves by ``fast_delta_mm`` or more since the last
report, every ``fast_interval_s`` instead: a rising flood is what the IOC needs to see early.
"""

from firmware.sequence import Sequence
from protocol import frames


def const(x: int) -> int:
    """CPython stand-in for MicroPython's compile-time constant marker (the host imports us too)."""
    return x


try:  # on MicroPython the real marker: the parser folds ``_X = const(n)`` into the bytecode
    from micropython import const  # type: ignore[import-not-found,no-redef,unused-ignore]
except ImportError:
    pass


# Below this the node flags its own readings, so central can tell a dying node from a dry river.
LOW_BATTERY_PCT = const(15)


class WaterLevelSensor:
    """Call ``sample`` after each ranging; send what it returns (``b""``: nothing due)."""

    def __init__(
        self,
        node_id: int,
        key: bytes,
        boot_epoch: int,
        interval_s: int = 300,
        fast_interval_s: int = 60,
        fast_delta_mm: int = 50,
        seq: "Sequence | None" = None,
    ) -> None:
        self.node_id = node_id
        self.key = key
        self.boot_epoch = boot_epoch
        self.interval_s = interval_s
        self.fast_interval_s = fast_interval_s
        self.fast_delta_mm = fast_delta_mm
        self.seq = seq if seq is not None else Sequence()
        self.last_report_s: "int | None" = None
        self.last_distance_mm: "int | None" = None  # last reported good reading

    def _frame(self, now_s: int, payload: "frames.WaterLevel | frames.NodeStatus") -> bytes:
        f = frames.Frame(self.node_id, self.boot_epoch, self.seq.next(), int(now_s) & 0xFFFFFFFF, payload)
        return frames.encode(f, self.key)

    def is_due(self, now_s: int, distance_mm: "int | None") -> bool:
        """Whether a reading taken now should be reported."""
        last = self.last_report_s
        if last is None:
            return True
        elapsed = now_s - last
        if elapsed >= self.interval_s:
            return True
        prev = self.last_distance_mm
        moved = distance_mm is not None and prev is not None and abs(distance_mm - prev) >= self.fast_delta_mm
        return moved and elapsed >= self.fast_interval_s

    def sample(self, now_s: int, distance_mm: "int | None", battery_pct: int, flags: int = 0) -> bytes:
        """One reading; a WaterLevel frame when a report is due, else b"".

        ``distance_mm`` None (no trustworthy echo) or out of the u16 range is sent as 0xFFFF with
        WL_SENSOR_FAULT; a battery under LOW_BATTERY_PCT adds WL_LOW_BATTERY.
        """
        if distance_mm is None or not 0 <= distance_mm <= 0xFFFF:
            distance_mm = None
            flags |= frames.WL_SENSOR_FAULT
        battery_pct = min(100, max(0, battery_pct))
        if battery_pct < LOW_BATTERY_PCT:
            flags |= frames.WL_LOW_BATTERY
        if not self.is_due(now_s, distance_mm):
            return b""
        self.last_report_s = now_s
        if distance_mm is not None:
            self.last_distance_mm = distance_mm
        wire_mm = 0xFFFF if distance_mm is None else distance_mm
        return self._frame(now_s, frames.WaterLevel(wire_mm, battery_pct, flags & 0xFF))

    def on_downlink(self, data: bytes) -> bool:
        """A Config frame for this node sets ``interval_s``; anything else -> False, no change."""
        try:
            f = frames.decode(data, self.key)
        except Exception:  # nothing heard on air may stop the main loop (the watchdog would reboot us)
            return False
        if f.node_id != self.node_id or not isinstance(f.payload, frames.Config):
            return False
        self.interval_s = f.payload.report_interval_s
        return True

    def status(self, now_s: int, uptime_s: int, unsent: int, battery_pct: int) -> bytes:
        """A NodeStatus frame (health: battery, uptime, frames waiting unsent)."""
        payload = frames.NodeStatus(
            min(100, max(0, battery_pct)), min(max(0, uptime_s), 0xFFFFFFFF), min(max(0, unsent), 0xFFFF)
        )
        return self._frame(now_s, payload)
