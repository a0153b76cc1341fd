"""main.py with deep sleep on: each ``machine.deepsleep`` ends a wake, the runner wakes the chip again.

argv: "sensor" (timer wakes; the fake clock jumps by each sleep) or "sos" (a press, an ACK, the
button sleeps until pressed; the wake is a tap on the button). Prints what went on air per wake.
"""

import sys
import time

import esp32
import machine
from fake_radio import FakeRadio

from protocol import frames

KEY = bytes(range(16))
T0 = 1700000000
now = time.now
now.append(T0)
radio = FakeRadio("ack")
kind = sys.argv[1]
state = {}


def run_main():
    """One boot or wake: main.py from the top, until it sleeps (or the watchdog budget ends)."""
    sent = len(radio.frames)
    sys.modules.pop("main", None)
    try:
        import main  # noqa: F401
    except machine.DeepSleep:
        pass
    return [frames.decode(f, KEY) for f in radio.frames[sent:]]


def read_epoch():
    with open("boot_epoch") as fh:
        return int(fh.read())


if kind == "sensor":
    machine.WDT.turns = 10000
    wakes = []
    for i in range(8):
        wakes.append(run_main())
        if i == 0:
            epoch = read_epoch()
        now[0] += machine.DeepSleep.slept[-1] // 1000
        machine.wake()
    assert read_epoch() == epoch  # deep-sleep wakes keep the boot epoch
    print("sleeps", machine.DeepSleep.slept)
    print("wakes", [[(f.kind, f.boot_epoch, f.seq) for f in w] for w in wakes])
    print("hellos", radio.hellos)
    print("sensor sleeper ok")
else:

    def hook(turn):
        button = machine.Pin.pins.get(0)
        if turn == 2:
            button.v = 0
        elif turn == 6:
            button.v = 1
        elif turn == 10 and "sos" not in state:
            sos = frames.decode(radio.frames[0], KEY)
            state["sos"] = sos
            ack = frames.encode(frames.Frame(sos.node_id, 9, 1, 0, frames.Ack(sos.boot_epoch, sos.seq, 42, 1)), KEY)
            radio.downlink(ack)

    machine.WDT.hook = hook
    machine.WDT.turns = 400
    first = run_main()
    epoch = read_epoch()
    assert machine.DeepSleep.slept == [0], machine.DeepSleep.slept  # asleep until pressed
    assert esp32.ext0 == [(0, esp32.WAKEUP_ALL_LOW)], esp32.ext0
    machine.WDT.hook = None
    machine.WDT.turns = machine.WDT.n + 5
    machine.wake(machine.EXT0_WAKE)  # a tap, already released when the loop first looks
    try:
        second = run_main()
    except KeyboardInterrupt:
        second = [frames.decode(f, KEY) for f in radio.frames[1:]]
    assert read_epoch() == epoch
    print("sos sleeper", [(f.kind, f.boot_epoch, f.seq) for f in first + second])
    assert [f.kind for f in first + second] == ["sos", "sos"]
    assert second[0].boot_epoch == first[0].boot_epoch
    assert second[0].seq == (first[0].seq + 1) & 0xFFFF
    print("sos sleeper ok")
