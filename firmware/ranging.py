"""Ultrasonic ranging maths (pure): echo time to millimetres, and the median of several pings.

A JSN-SR04T over a river sees spray, insects and rain: single pings are often garbage (no echo,
an echo off the bridge pier, the transducer's own ringing below ~250 mm). We fire several pings,
drop the out-of-range ones and take the median of the rest.
"""


def const(x: int) -> int:
    """CPython stand-in for MicroPython's compile-time constant marker (the host imports us too)."""
    return x


try:  # on MicroPython the real marker: the parser folds ``_X = const(n)`` into the bytecode
    from micropython import const  # type: ignore[import-not-found,no-redef,unused-ignore]
except ImportError:
    pass


# JSN-SR04T: blind below ~250 mm (the transducer is still ringing), useless beyond ~6 m.
MIN_MM = const(250)
MAX_MM = const(6000)
# Speed of sound, m/s = 331.3 + 0.606 * T(degC); Hue's rainy season sits around 25..30 degC.
_C0_MM_PER_S = const(331300)
_C1_MM_PER_S_PER_DEGC = const(606)


def echo_to_mm(echo_us: int, temp_c: int = 27) -> int:
    """Round-trip echo time (us) -> distance (mm), compensating the speed of sound for temperature."""
    c = _C0_MM_PER_S + _C1_MM_PER_S_PER_DEGC * temp_c  # mm/s
    return echo_us * c // 2000000  # /1e6 for us->s, /2 for the round trip


def median_mm(pings: "list[int]", lo: int = MIN_MM, hi: int = MAX_MM, min_valid: int = 0) -> "int | None":
    """Median of the in-range pings (``lo <= p <= hi``); None when fewer than ``min_valid`` survive.

    ``min_valid`` defaults to half of the pings (rounded up): when most echoes are garbage the
    surviving ones are not trustworthy either, and a fault flag beats a wrong water level.
    Negative values (``time_pulse_us`` timeouts are -1/-2) are simply out of range.
    """
    if min_valid <= 0:
        min_valid = max(1, (len(pings) + 1) // 2)
    ok = sorted(p for p in pings if lo <= p <= hi)
    n = len(ok)
    if n < min_valid:
        return None
    if n & 1:
        return ok[n // 2]
    return (ok[n // 2 - 1] + ok[n // 2]) // 2
