"""Virtual nodes: the firmware's own logic (``firmware/``) running on the host, on a simulated air.

A virtual node differs from a real one only below the firmware logic: its sensor reading comes from
a flood replay and its radio is a ``gateway.radio.sim.Air``.
"""

import threading
from collections.abc import Callable

from firmware.sos_button import SosButton
from firmware.water_level import WaterLevelSensor
from gateway.radio.sim import Air
from protocol.registry import NodeRecord

Clock = Callable[[], float]
LevelAt = Callable[[float], float]


class VirtualSosButton:
    """A resident's SOS button: press it, watch its LED."""

    def __init__(self, record: NodeRecord, air: Air, boot_epoch: int = 1) -> None:
        self.record = record
        self.node_id = record.node_id
        self._air = air
        self._lock = threading.Lock()
        self._fw = SosButton(record.node_id, record.key, boot_epoch)
        self.transmissions = 0
        self.acks_received = 0
        air.attach(record.node_id, self._heard)

    @property
    def led(self) -> str:
        """What the button's LED shows ("sending", "registered", ...)."""
        return self._fw.led

    @property
    def case_number(self) -> int | None:
        """The case number central (or the ward gateway) gave the last SOS."""
        return self._fw.case_number

    def _heard(self, _from_id: int, frame: bytes) -> None:
        with self._lock:
            if self._fw.on_downlink(frame):
                self.acks_received += 1

    def _send(self, frame: bytes) -> None:
        if frame:
            self.transmissions += 1
            self._air.transmit(self.node_id, frame)

    def press(
        self,
        now: float,
        kind: int = 0,
        people: int = 1,
        vulnerable: int = 0,
        gps: tuple[float, float] | None = None,
    ) -> None:
        """The resident presses SOS; ``gps`` is (lat, lon) when the button has a fix."""
        lat_e6 = lon_e6 = None
        if gps is not None:
            lat_e6, lon_e6 = round(gps[0] * 1e6), round(gps[1] * 1e6)
        with self._lock:
            frame = self._fw.press(int(now * 1000), int(now), kind, people, vulnerable, lat_e6, lon_e6)
        self._send(frame)

    def medical(self, now: float) -> None:
        """The resident taps the medical pattern (three quick presses): a medical SOS supersedes the last."""
        with self._lock:
            frame = self._fw.medical(int(now * 1000), int(now))
        self._send(frame)

    def cancel(self, now: float) -> None:
        """The resident withdraws the request."""
        with self._lock:
            frame = self._fw.cancel(int(now * 1000), int(now))
        self._send(frame)

    def tick(self, now: float) -> None:
        """Let the firmware retransmit an unacknowledged SOS when its backoff expires."""
        with self._lock:
            frame = self._fw.due(int(now * 1000), int(now))
        self._send(frame)


class VirtualWaterLevelSensor:
    """An ultrasonic gauge above the river: distance to the water follows ``level_at``."""

    def __init__(
        self,
        record: NodeRecord,
        air: Air,
        datum_m: float,
        level_at: LevelAt,
        interval_s: int = 300,
        fast_interval_s: int = 60,
        boot_epoch: int = 1,
    ) -> None:
        self.record = record
        self.node_id = record.node_id
        self._air = air
        self._datum_m = datum_m
        self._level_at = level_at
        self._lock = threading.Lock()
        self._fw = WaterLevelSensor(record.node_id, record.key, boot_epoch, interval_s, fast_interval_s)
        self.battery_pct = 95
        self.transmissions = 0
        air.attach(record.node_id, self._heard)

    def _heard(self, _from_id: int, frame: bytes) -> None:
        with self._lock:
            self._fw.on_downlink(frame)

    def distance_mm(self, now: float) -> int:
        """What the ultrasonic sensor measures now: datum minus water level, clamped to range."""
        return max(0, min(0xFFFF, round((self._datum_m - self._level_at(now)) * 1000)))

    def tick(self, now: float) -> None:
        """Sample the sensor; the firmware decides whether a report is due."""
        with self._lock:
            out = self._fw.sample(int(now), self.distance_mm(now), self.battery_pct)
        for frame in out:
            self.transmissions += 1
            self._air.transmit(self.node_id, frame)
