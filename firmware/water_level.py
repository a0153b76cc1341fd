"""A river/street water-level sensor (pure logic): when to take a reading, and the frames it sends.

Takes a reading every ``interval_s`` and sends ``batch`` of them in one WaterLevelBatch frame (one
radio wake-up and one Meshtastic header per batch instead of per reading). When the water moved by
``fast_delta_mm`` or more since the last reading and ``fast_interval_s`` have passed, the pending
readings go at once and the new one follows alone: a rising flood is what the IOC needs to see early.
The first reading after a real boot also goes alone, so central sees the node come up.
Batching is for calm water only: while ``interval_s`` is under ``BATCH_MIN_INTERVAL_S`` (central's
adaptive reporting shortens it by a Config downlink when a station is above BD1 or rising fast)
each reading goes out at once, what was pending going first.

Readings of a batch are ``interval_s`` apart on a fixed grid (a late sample does not push the next
one), so the timestamps central derives from the last one are off by at most one sampling period.
The batch takes ``count`` consecutive sequence numbers, ending at the header's (frames.split_batch).
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
# Readings are batched only at this reporting interval or longer (5 minutes: calm water).
BATCH_MIN_INTERVAL_S = const(300)


class WaterLevelSensor:
    """Call ``sample`` after each ranging; send every frame it returns (oldest first)."""

    def __init__(
        self,
        node_id: int,
        key: bytes,
        boot_epoch: int,
        interval_s: int = 300,
        fast_interval_s: int = 60,
        fast_delta_mm: int = 50,
        seq: "Sequence | None" = None,
        batch: int = 1,
    ) -> None:
        self.node_id = node_id
        self.key = key
        self.boot_epoch = boot_epoch
        self.interval_s = interval_s
        self.fast_interval_s = fast_interval_s
        self.fast_delta_mm = fast_delta_mm
        self.batch = min(max(1, batch), frames.MAX_BATCH)
        self.seq = seq if seq is not None else Sequence()
        self.last_report_s: "int | None" = None  # when the last reading was taken
        self.last_distance_mm: "int | None" = None  # last good reading taken
        self.last_sample_mm: "int | None" = None  # last good sample, reading or not
        self.due_s = 0  # grid time of the next periodic reading
        # Readings taken, not yet sent: distances, time of the last, flags OR-ed, battery, their spacing.
        self.pending: "list[int]" = []
        self.pending_ts = 0
        self.pending_flags = 0
        self.pending_battery = 100
        self.pending_interval = interval_s
        self.watching = False  # the water moved between the last two samples: sample sooner

    def _frame(self, now_s: int, payload: "frames._Payload") -> bytes:
        f = frames.Frame(self.node_id, self.boot_epoch, self.seq.next(), int(now_s) & 0xFFFFFFFF, payload)
        return frames.encode(f, self.key)

    def flush(self) -> "list[bytes]":
        """The pending readings as one frame (a single WaterLevel when there is one), or []."""
        n = len(self.pending)
        if not n:
            return []
        flags = self.pending_flags & 0xFF
        if n == 1:
            data = self._frame(self.pending_ts, frames.WaterLevel(self.pending[0], self.pending_battery, flags))
        else:
            flags &= ~frames.WL_SENSOR_FAULT  # per reading in a batch: a NO_READING distance
            payload = frames.WaterLevelBatch(self.pending_interval, self.pending, self.pending_battery, flags)
            for _ in range(n - 1):  # the batch occupies n sequence numbers, the header names the last
                self.seq.next()
            data = self._frame(self.pending_ts, payload)
        self.pending = []
        self.pending_flags = 0
        return [data]

    def _moved(self, distance_mm: "int | None", ref: "int | None", delta: int) -> bool:
        return distance_mm is not None and ref is not None and abs(distance_mm - ref) >= delta

    def sample(self, now_s: int, distance_mm: "int | None", battery_pct: int, flags: int = 0) -> "list[bytes]":
        """One sample; the frames to send now, oldest first ([] when nothing is due).

        ``distance_mm`` None (no trustworthy echo) or out of the u16 range is sent as NO_READING with
        WL_SENSOR_FAULT; a battery under LOW_BATTERY_PCT adds WL_LOW_BATTERY.
        """
        if distance_mm is None or not 0 <= distance_mm < frames.NO_READING:
            distance_mm = None
            flags |= frames.WL_SENSOR_FAULT
        battery_pct = min(100, max(0, battery_pct))
        if battery_pct < LOW_BATTERY_PCT:
            flags |= frames.WL_LOW_BATTERY
        last = self.last_report_s
        self.watching = self._moved(distance_mm, self.last_sample_mm, self.fast_delta_mm // 2)
        if distance_mm is not None:
            self.last_sample_mm = distance_mm
        urgent = last is None or (
            now_s - last >= self.fast_interval_s and self._moved(distance_mm, self.last_distance_mm, self.fast_delta_mm)
        )
        if not urgent and now_s < self.due_s:
            return []
        out: "list[bytes]" = []
        late = now_s - self.due_s
        if urgent or late >= self.interval_s or self.pending_interval != self.interval_s:
            out = self.flush()  # off the grid: what is pending goes first, with its own spacing
        on_grid = 0 <= late < self.interval_s and not urgent
        self.due_s = self.due_s + self.interval_s if on_grid else now_s + self.interval_s
        self.last_report_s = now_s
        if distance_mm is not None:
            self.last_distance_mm = distance_mm
        self.pending.append(frames.NO_READING if distance_mm is None else distance_mm)
        self.pending_ts = now_s
        self.pending_flags |= flags
        self.pending_battery = battery_pct
        self.pending_interval = self.interval_s
        if urgent or len(self.pending) >= self.batching():
            out += self.flush()
        return out

    def batching(self) -> int:
        """Readings per frame now: ``batch`` in calm water, 1 while central asks for a short interval."""
        return self.batch if self.interval_s >= BATCH_MIN_INTERVAL_S else 1

    def next_sample_s(self, now_s: int) -> int:
        """Seconds until the next sample is worth taking (deep sleep): sooner while the water moves."""
        if self.last_report_s is None:
            return 0
        wait = self.due_s - now_s
        if self.watching:
            wait = min(wait, self.last_report_s + self.fast_interval_s - now_s)
        return max(1, wait)

    def on_downlink(self, data: bytes) -> bool:
        """A Config frame for this node sets ``interval_s``; anything else -> False, no change."""
        try:
            f = frames.decode(data, self.key)
        except Exception:  # nothing heard on air may stop the main loop (the watchdog would reboot us)
            return False
        if f.node_id != self.node_id or not isinstance(f.payload, frames.Config):
            return False
        self.interval_s = f.payload.report_interval_s
        if self.last_report_s is not None:
            self.due_s = min(self.due_s, self.last_report_s + self.interval_s)
        return True

    def status(self, now_s: int, uptime_s: int, unsent: int, battery_pct: int) -> bytes:
        """A NodeStatus frame (health: battery, uptime, frames waiting unsent)."""
        payload = frames.NodeStatus(
            min(100, max(0, battery_pct)), min(max(0, uptime_s), 0xFFFFFFFF), min(max(0, unsent), 0xFFFF)
        )
        return self._frame(now_s, payload)

    def state(self) -> "list[object]":
        """What must survive a deep sleep (JSON-able): sequence, schedule, pending readings."""
        return [self.seq.peek(), self.interval_s, self.last_report_s, self.last_distance_mm, self.last_sample_mm,
                self.due_s, self.pending, self.pending_ts, self.pending_flags, self.pending_battery,
                self.pending_interval, self.watching]

    def restore(self, st: "list[Any]") -> None:  # type: ignore[name-defined]  # noqa: F821
        """Take back a ``state()`` after a deep-sleep wake."""
        self.seq = Sequence(st[0])
        (self.interval_s, self.last_report_s, self.last_distance_mm, self.last_sample_mm, self.due_s, self.pending,
         self.pending_ts, self.pending_flags, self.pending_battery, self.pending_interval, self.watching) = st[1:]
