"""Submersible pressure transducer on a 4-20 mA loop (pure): ADC microvolts to water depth.

The loop current flows through a shunt resistor into an ADC pin (150 ohm: 0.6-3.0 V, inside the
ESP32's 11 dB range). Below ~3.8 mA the loop is open (cable cut, sensor unpowered); above ~20.5 mA
it is shorted or over range: both are faults, never a depth. The node reports the same quantity as
the ultrasonic gauge -- distance from its reference point down to the water -- so central needs no
second conversion: ``distance = ref_mm - depth`` where ``ref_mm`` is the reference's height above
the transducer (from config.json).
"""


def const(x: int) -> int:
    """CPython stand-in for MicroPython's compile-time constant marker (the host imports us too)."""
    return x


try:  # on MicroPython the real marker: the parser folds ``_X = const(n)`` into the bytecode
    from micropython import const  # type: ignore[import-not-found,no-redef,unused-ignore]
except ImportError:
    pass


_UA_MIN = const(4000)
_UA_SPAN = const(16000)
_UA_OPEN = const(3800)
_UA_OVER = const(20500)


def depth_mm(uv: int, shunt_ohm: int = 150, range_mm: int = 5000) -> "int | None":
    """Depth of water over the transducer in mm; None on an open or shorted loop."""
    ua = uv // shunt_ohm
    if ua < _UA_OPEN or ua > _UA_OVER:
        return None
    ua = min(max(ua, _UA_MIN), _UA_MIN + _UA_SPAN)
    return (ua - _UA_MIN) * range_mm // _UA_SPAN


def distance_mm(samples_uv: "list[int]", ref_mm: int, shunt_ohm: int = 150, range_mm: int = 5000) -> "int | None":
    """Median of several ADC samples as distance from the reference down to the water; None on a fault."""
    depths = sorted(d for d in (depth_mm(uv, shunt_ohm, range_mm) for uv in samples_uv) if d is not None)
    if len(depths) * 2 <= len(samples_uv):
        return None  # most samples faulty: a loose connector, not a flood
    return max(0, ref_mm - depths[len(depths) // 2])
