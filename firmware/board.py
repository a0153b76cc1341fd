"""ESP32 hardware glue (MicroPython only; never imported on the host): flash, pins, UART, clock."""

import json
import os
import time

import machine
from micropython import const

from firmware.flash_queue import CAPACITY, FlashQueue
from firmware.gestures import Gestures
from firmware.led import beep_on, led_on
from firmware.mesh_link import BROADCAST, MeshLink
from firmware.pressure import distance_mm
from firmware.ranging import echo_to_mm, median_mm
from firmware.uplink import Uplink

CONFIG_PATH = "config.json"
EPOCH_PATH = "boot_epoch"
QUEUE_PATH = "queue.bin"

# JSN-SR04T v3 wants a >= 20 us trigger (HC-SR04 is happy with 10 us).
_TRIG_US = const(20)
# No echo: HC-SR04 holds ECHO high ~38 ms; 6 m round trip is ~35 ms. Longer means nothing came back.
_ECHO_TIMEOUT_US = const(38000)
# Echoes of the previous burst ring around a culvert for tens of ms: datasheets ask >= 60 ms per cycle.
_PING_GAP_MS = const(60)
_HELLO_MS = const(30000)


class ConfigError(Exception):
    """config.json is missing, not JSON, or lacks what the node's role needs."""


def load_config(path: str = CONFIG_PATH) -> dict:
    """config.json written by provisioning: node_id, key (hex), kind ("sos"|"water_level"), pins."""
    try:
        with open(path) as fh:
            cfg = json.load(fh)
        cfg["key"] = bytes.fromhex(cfg["key"])
        pins = cfg["pins"]
        ok = cfg["kind"] in ("sos", "water_level") and len(cfg["key"]) >= 16 and 0 <= int(cfg["node_id"]) <= 0xFFFFFFFF
        need = ("button", "led") if cfg["kind"] == "sos" else ("trig", "echo")
        if cfg.get("sensor") == "pressure":
            need = ("pressure",)
        ok = ok and all(k in pins for k in need + ("uart_tx", "uart_rx"))  # noqa: RUF005 - no (*x) on MicroPython
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise ConfigError(repr(exc)) from None
    if not ok:
        raise ConfigError("missing or invalid fields")
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


def wake_state(node_id: int) -> "dict | None":
    """What the last wake left in RTC memory, on a deep-sleep wake only; None on a real boot.

    RTC slow memory survives deep sleep but not a power cut or a reset, so a real boot never sees a
    stale state (and takes a new boot epoch); a state written for another node id is ignored too.
    """
    if machine.reset_cause() != machine.DEEPSLEEP_RESET:
        return None
    try:
        st = json.loads(machine.RTC().memory())
    except (ValueError, TypeError):
        return None
    if not isinstance(st, dict) or st.get("node") != node_id or "epoch" not in st:
        return None
    return st


def sleep(st: dict, ms: int) -> None:
    """Keep ``st`` in RTC memory (at most 2 kB) and deep-sleep ``ms``; the wake runs /main.py again."""
    machine.RTC().memory(json.dumps(st).encode())
    machine.deepsleep(max(1, ms))


def sleep_until_pressed(button: "Button", st: dict) -> None:
    """Keep ``st`` in RTC memory and deep-sleep until the (active-low) button pulls its pin to 0."""
    import esp32

    esp32.wake_on_ext0(pin=button.pin, level=esp32.WAKEUP_ALL_LOW)
    machine.RTC().memory(json.dumps(st).encode())
    machine.deepsleep()


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


class PressureGauge:
    """4-20 mA submersible transducer through a shunt into an ADC pin (firmware/pressure.py)."""

    def __init__(self, pin: int, ref_mm: int, shunt_ohm: int = 150, range_mm: int = 5000) -> None:
        self.adc = machine.ADC(machine.Pin(pin))
        self.adc.atten(machine.ADC.ATTN_11DB)
        self.ref_mm = ref_mm
        self.shunt_ohm = shunt_ohm
        self.range_mm = range_mm

    def read_mm(self, n: int = 5, temp_c: int = 27) -> "int | None":
        """Distance from the reference down to the water (median of ``n`` samples); None on a loop fault."""
        samples = []
        for _ in range(n):
            samples.append(self.adc.read_uv())
            time.sleep_ms(2)
        return distance_mm(samples, self.ref_mm, self.shunt_ohm, self.range_mm)


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

    def __init__(self, pin: int, woke: bool = False) -> None:
        self.pin = machine.Pin(pin, machine.Pin.IN, machine.Pin.PULL_UP)
        self._edge = woke  # a press woke us from deep sleep: it may be over before the first poll
        self.gestures = Gestures()
        self.pin.irq(trigger=machine.Pin.IRQ_FALLING, handler=self._irq)

    def _irq(self, _pin: object) -> None:
        self._edge = True

    def down(self) -> bool:
        """Whether the button is held now."""
        return self.pin.value() == 0

    def poll(self, now_ms: int) -> int:
        """A gesture (firmware/gestures.py: NONE, PRESS, HOLD, MEDICAL); call every ~20 ms."""
        edge = self._edge
        self._edge = False
        return self.gestures.update(self.pin.value() == 0, edge, now_ms)


class Led:
    """Status LED; ``show`` renders the blink pattern of a state (firmware/led.py)."""

    def __init__(self, pin: int, active_high: bool = True) -> None:
        self.pin = machine.Pin(pin, machine.Pin.OUT, value=0 if active_high else 1)
        self.active_high = active_high

    def show(self, state: str, now_ms: int) -> None:
        """Light the LED as ``state``'s pattern says at ``now_ms``."""
        self.pin.value(1 if led_on(state, now_ms) == self.active_high else 0)


class Buzzer:
    """Piezo buzzer on a pin (optional): plays a state's beep pattern once when the state changes."""

    def __init__(self, pin: "int | None") -> None:
        self.pin = None if pin is None else machine.Pin(pin, machine.Pin.OUT, value=0)
        self._state = "off"
        self._since = 0

    def show(self, state: str, now_ms: int) -> None:
        """Sound ``state``'s beeps, timed from when the state was entered."""
        if state != self._state:
            self._state = state
            self._since = now_ms
        if self.pin is not None:
            self.pin.value(1 if beep_on(state, now_ms - self._since) else 0)


class Radio:
    """UART to the Meshtastic radio (serial module in PROTO mode, 115200 baud) behind a flash queue.

    ``radio_power_pin`` (optional): a GPIO driving the load switch / MOSFET of the radio's supply, high
    = on. It starts low; ``power_on`` switches it on and ``service`` stays silent for ``radio_boot_ms``
    while the radio boots (a hello written into a booting radio is lost, the next one is 30 s away).
    The switch needs a pull-down to "off": GPIOs float in deep sleep and through a reset. Without the
    pin the radio is always powered and ``power_on``/``power_off`` do nothing.
    """

    def __init__(self, cfg: dict, clock: Clock) -> None:
        pins = cfg["pins"]
        self.uart = machine.UART(cfg.get("uart", 1), baudrate=115200, tx=pins["uart_tx"], rx=pins["uart_rx"],
                                 rxbuf=1024)
        self.clock = clock
        link = MeshLink(random_u16() << 16 | random_u16(), cfg.get("radio_to", BROADCAST), cfg.get("channel", 0))
        self.uplink = Uplink(link, FlashQueue(QUEUE_PATH, cfg.get("queue_len", CAPACITY)))
        self._hello_at = -1
        pin = cfg.get("radio_power_pin")
        self.power = None if pin is None else machine.Pin(pin, machine.Pin.OUT, value=0)
        self.boot_ms = cfg.get("radio_boot_ms", 2000)
        self._ready_at = 0

    def power_on(self) -> int:
        """Switch a power-gated radio on (no-op if on or not gated); the clock's ms when it can talk."""
        if self.power is not None and not self.power.value():
            self.power.value(1)
            self._ready_at = self.clock.ms() + self.boot_ms
        return max(self._ready_at, self.clock.ms())

    def power_off(self) -> None:
        """Cut a power-gated radio (before deep sleep); frames in flight stay in the flash queue."""
        if self.power is not None:
            self.power.value(0)

    def send(self, frame: bytes, urgent: bool = False) -> None:
        """Queue one frame for the radio (``urgent``: SOS and cancels, never dropped)."""
        if frame:
            self.uplink.submit(frame, urgent)

    def unsent(self) -> int:
        """Frames waiting in flash."""
        return len(self.uplink.queue)

    def service(self) -> "list[bytes]":
        """Write what is due, read what came; our downlink frames since the last call."""
        now = self.clock.ms()
        if now < self._ready_at:
            return []  # the radio is still booting
        link = self.uplink.link
        if not link.heard_radio and (self._hello_at < 0 or now - self._hello_at >= _HELLO_MS):
            self._hello_at = now  # radio silent (booting, unplugged): say hello until it answers
            self.uart.write(link.hello(random_u16()))
        data = self.uplink.poll(now)
        if data:
            self.uart.write(data)
        n = self.uart.any()
        if not n:
            return []
        return self.uplink.feed(self.uart.read(n) or b"", now)
