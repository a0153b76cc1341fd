"""A stand-in ``time``: the unix port's own, with a settable wall clock (``now``) for deep-sleep wakes.

``skip(ms)`` (machine.lightsleep) moves both clocks forward without waiting: ``ticks_ms`` and
``ticks_us`` by ``ms``, ``time()`` by the whole seconds slept so far.
"""

import utime
from utime import *  # noqa: F403 - sleep_ms, ticks_diff, ... exactly as on the chip

now = []  # empty: the host's clock; [t]: time() returns t (the runner moves it by each sleep)
skipped = [0]  # milliseconds light-slept in total


def skip(ms):
    skipped[0] += ms


def ticks_ms():
    return utime.ticks_add(utime.ticks_ms(), skipped[0])


def ticks_us():
    return utime.ticks_add(utime.ticks_us(), skipped[0] * 1000)


def time():
    return (now[0] if now else utime.time()) + skipped[0] // 1000
