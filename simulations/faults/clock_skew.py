"""Run ``floodmesh ...`` with a wall clock that jumps whenever a file says so.

The fault campaign starts the gateway through this module: ``time-machine`` moves the process's wall
clock (``time.time``, ``datetime.now``) by the number of seconds written in ``OFFSET_FILE``, read again
every 50 ms, while monotonic clocks run on untouched, as when NTP steps a Raspberry Pi's clock or
its RTC battery is flat. (Debian's libfaketime would do it from outside, but under an offset it makes
CPython's ``time.sleep`` fail with EINVAL: a crash that is no clock fault.)

    python -m simulations.faults.clock_skew OFFSET_FILE gateway --ward ...
"""

import signal
import sys
import threading
from datetime import UTC, datetime
from pathlib import Path

import time_machine


def read_offset(path: Path) -> float:
    """Seconds the clock is off by now (0 when the file is missing or unreadable)."""
    try:
        return float(path.read_text().strip() or 0)
    except (OSError, ValueError):
        return 0.0


def follow(path: Path, traveller: time_machine.Traveller, offset: float, stop: threading.Event) -> None:
    """Shift the clock each time the file names another offset."""
    while not stop.wait(0.05):
        wanted = read_offset(path)
        if wanted != offset:
            traveller.shift(wanted - offset)
            offset = wanted


def main(argv: list[str]) -> int:
    """Start the skewed clock, then ``floodmesh`` with the remaining arguments in this process."""
    if len(argv) < 2:
        sys.stderr.write(__doc__ or "")
        return 2
    path = Path(argv[0])
    # A campaign started in the background ignores SIGINT; a polite stop must still stop us.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    offset = read_offset(path)
    traveller = time_machine.travel(datetime.now(UTC).timestamp() + offset, tick=True).start()
    threading.Thread(target=follow, args=(path, traveller, offset, threading.Event()), name="clock-skew",
                     daemon=True).start()
    from floodmesh.cli import main as floodmesh  # imported under the skewed clock, as it runs

    return floodmesh(argv[1:])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
