# ruff: noqa: RUF012 - MicroPython has no typing.ClassVar; this module runs there
"""A stand-in ``machine`` module so firmware/main.py runs on the MicroPython unix port in tests.

Pins remember their last instance by number; the UART records writes, hands them to ``UART.radio``
(tests/firmware/fake_machine/fake_radio.py) and serves ``inbox``;
``WDT.feed`` counts loop turns, calls ``WDT.hook(turn)`` and ends the run after ``WDT.turns``;
``lightsleep`` records each sleep in ``light_slept`` and moves the fake clock (fake ``time``) by it.
"""

import time


class Pin:
    OUT = 1
    IN = 0
    PULL_UP = 2
    IRQ_FALLING = 4
    pins = {}
    levels = {}  # initial level per pin number (a button held at boot: 0)
    writes = []  # (pin number, level) per level the firmware set, constructor included
    watch = None  # called with (pin number, level) on each of those (fake_radio: the power switch)

    def __init__(self, n, mode=0, pull=None, value=None):
        self.n = n
        self.v = Pin.levels.get(n, 1) if value is None else value
        self.handler = None
        Pin.pins[n] = self
        if value is not None:
            Pin._wrote(n, value)

    @staticmethod
    def _wrote(n, v):
        Pin.writes.append((n, v))
        if Pin.watch is not None:
            Pin.watch(n, v)

    def value(self, v=None):
        if v is None:
            return self.v
        self.v = v
        Pin._wrote(self.n, v)
        return None

    def irq(self, trigger=0, handler=None):
        self.handler = handler


class UART:
    sent = []
    inbox = b""
    radio = None  # a fake_radio.FakeRadio answering what is written

    def __init__(self, *args, **kwargs):
        pass

    def write(self, data):
        UART.sent.append(bytes(data))
        if UART.radio is not None:
            UART.radio.on_write(bytes(data))

    def any(self):
        return len(UART.inbox)

    def read(self, n):
        data = UART.inbox[:n]
        UART.inbox = UART.inbox[n:]
        return data


echo_us = [5830]  # 1001 mm at 20 degC, 1013 mm at 27 degC; a test may move the water


def time_pulse_us(pin, level, timeout):
    return echo_us[0]


class ADC:
    ATTN_11DB = 3

    def __init__(self, pin):
        pass

    def atten(self, a):
        pass

    def read_uv(self):
        return 1900000  # 3.8 V through the 1:2 divider


class WDT:
    turns = 10
    n = 0
    hook = None

    def __init__(self, timeout):
        pass

    def feed(self):
        WDT.n += 1
        if WDT.hook is not None:
            WDT.hook(WDT.n)
        if WDT.n > WDT.turns:
            raise KeyboardInterrupt


# Resets and deep sleep: ``deepsleep`` records the wanted sleep and raises DeepSleep; the test's
# runner then "wakes" the chip by setting ``reset_cause`` and running main.py again (the RTC memory
# below survives, as on the chip; a real boot is a fresh interpreter).
PWRON_RESET = 1
DEEPSLEEP_RESET = 4
EXT0_WAKE = 2
TIMER_WAKE = 4
_reset = [PWRON_RESET, 0]  # reset cause, wake reason


class DeepSleep(Exception):
    slept = []  # milliseconds asked for, per sleep (0: until a wake pin)
    levels = []  # {pin number: level} of the output pins, per sleep


def deepsleep(ms=0):
    DeepSleep.slept.append(ms)
    DeepSleep.levels.append({n: p.v for n, p in Pin.pins.items()})
    raise DeepSleep(ms)


def lightsleep(ms=0):
    """Records the sleep and moves the fake clock by it (fake ``time.skip``); returns at once."""
    if ms <= 0:
        raise ValueError("lightsleep without a timer: nothing would wake the sensor")
    light_slept.append(ms)
    time.skip(ms)


light_slept = []  # milliseconds asked for, per light sleep


def reset_cause():
    return _reset[0]


def wake_reason():
    return _reset[1]


def wake(reason=TIMER_WAKE):
    """What the runner calls before running main.py again."""
    _reset[0] = DEEPSLEEP_RESET
    _reset[1] = reason


class RTC:
    mem = b""

    def memory(self, data=None):
        if data is None:
            return RTC.mem
        RTC.mem = bytes(data)
        return None
