"""What the resident's thumb means (pure): a press, a long hold, or the medical pattern.

- short press (released before ``HOLD_MS``): SOS;
- hold ``HOLD_MS``: cancel the request (reported once, while still held, so the LED answers at once);
- ``MEDICAL_PRESSES`` presses within ``MEDICAL_WINDOW_MS``: a medical emergency. The first press has
  already sent a plain SOS (no waiting: it may be the only press a resident manages); the pattern
  then upgrades it, see ``SosButton.medical``.

Contact chatter shorter than ``_TAP_MS`` is not a press.
"""


def const(x: int) -> int:
    """CPython stand-in for MicroPython's compile-time constant marker (the host imports us too)."""
    return x


try:  # on MicroPython the real marker: the parser folds ``_X = const(n)`` into the bytecode
    from micropython import const  # type: ignore[import-not-found,no-redef,unused-ignore]
except ImportError:
    pass


HOLD_MS = const(3000)
MEDICAL_PRESSES = const(3)
MEDICAL_WINDOW_MS = const(2500)
_TAP_MS = const(30)

NONE = const(0)
PRESS = const(1)
HOLD = const(2)
MEDICAL = const(3)


class Gestures:
    """Call ``update`` every ~20 ms with the button level and whether an edge IRQ fired since."""

    def __init__(self) -> None:
        self._down_at = -1
        self._held = False
        self._presses = []  # times of recent short presses, for the medical pattern

    def _press(self, now_ms: int) -> int:
        p = [t for t in self._presses if now_ms - t < MEDICAL_WINDOW_MS]
        p.append(now_ms)
        if len(p) >= MEDICAL_PRESSES:
            self._presses = []
            return MEDICAL
        self._presses = p
        return PRESS

    def update(self, down: bool, edge: bool, now_ms: int) -> int:
        """NONE, PRESS, HOLD (once per hold) or MEDICAL (instead of the pattern's last PRESS)."""
        if down:
            if self._down_at < 0:
                self._down_at = now_ms
                self._held = False
            elif not self._held and now_ms - self._down_at >= HOLD_MS:
                self._held = True
                self._presses = []
                return HOLD
            return NONE
        if self._down_at >= 0:
            long_enough = now_ms - self._down_at >= _TAP_MS
            held = self._held
            self._down_at = -1
            return self._press(now_ms) if long_enough and not held else NONE
        # A tap entirely between two polls: the edge is all we saw.
        return self._press(now_ms) if edge else NONE
