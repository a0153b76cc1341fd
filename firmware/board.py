"""ESP32 hardware glue (MicroPython only; never imported on the host): flash, pins, UART, clock."""

import json
import os
import time

import machine
from micropython import const

from firmware.led import led_on
from firmware.ranging import echo_to_mm, median_mm
from firmware.stream import StreamReader, wrap

CONFIG_PATH = "config.json"
EPOCH_PATH = "boot_epoch"

# JSN-SR04T v3 wants a >= 20 us trigger (HC-SR04 is happy with 10 us).
_TRIG_US = const(20)
# No echo: HC-SR04 holds ECHO high ~38 ms; 6 m round trip is ~35 ms. Longer means nothing came back.
_ECHO_TIMEOUT_US = const(38000)
# Echoes of the previous burst ring around a culvert for tens of ms: datasheets ask >= 60 ms per cycle.
_PING_GAP_MS = const(60)
_TAP_MS = const(30)  # shorter "presses" seen while polling are contact chatter
HOLD_MS = const(3000)  # holding the button this long withdraws the request


def load_config(path: str = CONFIG_PATH) -> dict:
    """config.json written by provisioning: node_id, key (hex), kind ("sos"|"water_level"), pins."""
    with open(path) as fh:
        cfg = json.load(fh)
    cfg["key"] = bytes.fromhex(cfg["key"])
    return cfg


def next_boot_epoch(path: str = EPOCH_PATH) -> int:
    """Read, increment and persist the boot epoch (u16); a lost file restarts at a random epoch.

    (node id, boot epoch, seq) is the dedupe key upstream, so restarting at 1 after a corrupted file
    would make new SOS look like duplicates of old ones; a random restart makes that unlikely.
    """
    try:
        with open(path) as fh:
            n = int(fh.read())
    except (OSError, ValueError):
        n = int.from_bytes(os.urandom(2), "big")
    n = (n + 1) & 0xFFFF
    tmp = path + ".tmp"
    with open(tmp, "w") as fh:  # write-then-rename: a brown-out mid-write keeps the old value
        fh.write(str(n))
    os.rename(tmp, path)
    return n


def random_u16() -> int:
    """A random start for the sequence counter (ACKs carry no boot epoch; see sos_button)."""
    return int.from_bytes(os.urandom(2), "big")


class Clock:
    """Milliseconds since boot that never wrap (``ticks_ms`` wraps every ~12 days on the ESP32)."""

    def __init__(self) -> None:
        self._t = time.ticks_ms()
        self._ms = 0

    def ms(self) -> int:
        """Monotonic milliseconds since boot."""
        t = time.ticks_ms()
        self._ms += time.ticks_diff(t, self._t)
        self._t = t
        return self._ms


class Ultrasonic:
    """HC-SR04 / JSN-SR04T on a trigger and an echo pin (echo through a 5 V -> 3.3 V divider!)."""

    def __init__(self, trig: int, echo: int) -> None:
        self.trig = machine.Pin(trig, machine.Pin.OUT, value=0)
        self.echo = machine.Pin(echo, machine.Pin.IN)

    def ping_mm(self, temp_c: int = 27) -> int:
        """One ping in mm; -1 when nothing came back."""
        self.trig.value(0)
        time.sleep_us(5)
        self.trig.value(1)
        time.sleep_us(_TRIG_US)
        self.trig.value(0)
        us = machine.time_pulse_us(self.echo, 1, _ECHO_TIMEOUT_US)  # -1/-2 on timeout
        return echo_to_mm(us, temp_c) if us > 0 else -1

    def read_mm(self, n: int = 5, temp_c: int = 27) -> "int | None":
        """Median of ``n`` pings, out-of-range echoes dropped; None when most pings failed."""
        pings = []
        for _ in range(n):
            pings.append(self.ping_mm(temp_c))
            time.sleep_ms(_PING_GAP_MS)
        return median_mm(pings)


class Battery:
    """Li-ion cell through a 1:2 divider on an ADC pin (ESP32 ADC reads at most ~3.1 V at 11 dB)."""

    def __init__(self, pin: "int | None", divider: int = 2) -> None:
        self.adc = None
        if pin is not None:
            self.adc = machine.ADC(machine.Pin(pin))
            self.adc.atten(machine.ADC.ATTN_11DB)
        self.divider = divider

    def pct(self) -> int:
        """Charge estimate, linear from 3.3 V (0 %) to 4.2 V (100 %); 100 on USB power (no pin)."""
        if self.adc is None:
            return 100
        mv = self.adc.read_uv() * self.divider // 1000  # read_uv uses the eFuse calibration
        return min(100, max(0, (mv - 3300) * 100 // 900))


class Button:
    """Active-low button on a pull-up. The IRQ only records the edge: no allocation in an ISR."""

    PRESS = 1
    HOLD = 2

    def __init__(self, pin: int) -> None:
        self.pin = machine.Pin(pin, machine.Pin.IN, machine.Pin.PULL_UP)
        self._edge = False
        self._down_at = -1
        self._held = False
        self.pin.irq(trigger=machine.Pin.IRQ_FALLING, handler=self._irq)

    def _irq(self, _pin: object) -> None:
        self._edge = True

    def is_down(self) -> bool:
        """Whether the button is held right now."""
        return self.pin.value() == 0

    def poll(self, now_ms: int) -> int:
        """0, PRESS (released before HOLD_MS) or HOLD (once, when held HOLD_MS); call every ~20 ms."""
        edge = self._edge
        self._edge = False
        if self.is_down():
            if self._down_at < 0:
                self._down_at = now_ms
                self._held = False
            elif not self._held and now_ms - self._down_at >= HOLD_MS:
                self._held = True
                return Button.HOLD
            return 0
        if self._down_at >= 0:
            long_enough = now_ms - self._down_at >= _TAP_MS
            self._down_at = -1
            return Button.PRESS if long_enough and not self._held else 0
        # A tap entirely between two polls: the edge is all we saw. SosButton's debounce absorbs chatter.
        return Button.PRESS if edge else 0


class Led:
    """Status LED; ``show`` renders the blink pattern of a state (firmware/led.py)."""

    def __init__(self, pin: int, active_high: bool = True) -> None:
        self.pin = machine.Pin(pin, machine.Pin.OUT, value=0 if active_high else 1)
        self.active_high = active_high

    def show(self, state: str, now_ms: int) -> None:
        """Light the LED as ``state``'s pattern says at ``now_ms``."""
        self.pin.value(1 if led_on(state, now_ms) == self.active_high else 0)


class Radio:
    """UART to the Meshtastic radio (its serial module in PROTO mode, 115200 baud).

    PLACEHOLDER until the Meshtastic link lands: ``send`` writes our frame with the client API's stream
    header (0x94 0xC3, u16 length) but NOT yet wrapped in a ``ToRadio { packet: MeshPacket { decoded:
    Data { portnum: PRIVATE_APP, payload: frame } } }`` protobuf, so a stock radio drops it; ``recv``
    likewise expects our frame bare where a ``FromRadio`` protobuf will be.
    """

    def __init__(self, uart_id: int, tx: int, rx: int, baud: int = 115200) -> None:
        self.uart = machine.UART(uart_id, baudrate=baud, tx=tx, rx=rx, rxbuf=1024)
        self.reader = StreamReader()

    def send(self, frame: bytes) -> None:
        """Hand one frame to the radio."""
        if frame:
            self.uart.write(wrap(frame))

    def recv(self) -> "list[bytes]":
        """Frames received since the last call (non-blocking)."""
        n = self.uart.any()
        if not n:
            return []
        return self.reader.feed(self.uart.read(n) or b"")
