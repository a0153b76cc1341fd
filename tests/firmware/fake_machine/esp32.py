"""A stand-in ``esp32`` module: remembers the ext0 wake pin the firmware arms before deep sleep."""

WAKEUP_ALL_LOW = False
WAKEUP_ANY_HIGH = True
ext0 = []  # (pin number, level) per call


def wake_on_ext0(pin, level):
    ext0.append((pin.n, level))
