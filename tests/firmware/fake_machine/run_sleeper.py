"""main.py with deep sleep on: each ``machine.deepsleep`` ends a wake, the runner wakes the chip again.

argv: "sensor" (timer wakes; the fake clock jumps by each sleep) or "sos" (a press, an ACK, the
button sleeps until pressed; the wake is a tap on the button). Prints what went on air per wake.
With ``radio_power_pin`` in config.json the fake radio sits behind that switch (fake_radio.power):
the runner checks the pin is low at every sleep and that nothing was written to an unpowered or
booting radio, and prints per wake whether the radio was switched on, and the light sleeps the
sensor took while the radio booted (``light``: count, total ms).

Sensor extras: argv[2] the number of wakes (default 8); then events "config:W:S" (a Config downlink
setting ``interval_s`` S waits in the radio for wake W's session) and "rise:W:US" (from wake W the
echo takes US microseconds: a closer water surface).
"""

import json
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
with open("config.json") as fh:
    cfg = json.load(fh)
PWR = cfg.get("radio_power_pin")
if PWR is not None:
    radio.power(PWR, cfg.get("radio_boot_ms", 2000))


def powered():
    """Whether the power pin went high since the last call (and forget the pin writes so far)."""
    on = (PWR, 1) in machine.Pin.writes
    machine.Pin.writes.clear()
    return on


def check_power():
    """The radio was switched off before every deep sleep, and never talked to while off or booting."""
    if PWR is not None:
        assert all(lv.get(PWR) == 0 for lv in machine.DeepSleep.levels), machine.DeepSleep.levels
        assert radio.lost == 0, radio.lost


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


def events():
    """{wake: [(what, value)]} from argv[3:]."""
    out = {}
    for ev in sys.argv[3:]:
        what, w, v = ev.split(":")
        out.setdefault(int(w), []).append((what, int(v)))
    return out


if kind == "sensor":
    machine.WDT.turns = 10000
    wakes = []
    power = []
    todo = events()
    for i in range(int(sys.argv[2]) if len(sys.argv) > 2 else 8):
        for what, v in todo.get(i, []):
            if what == "config":
                radio.downlink(frames.encode(frames.Frame(cfg["node_id"], 9, i, now[0], frames.Config(v)), KEY))
            else:
                machine.echo_us[0] = v
        wakes.append(run_main())
        power.append(powered())
        if i == 0:
            epoch = read_epoch()
        now[0] += machine.DeepSleep.slept[-1] // 1000
        machine.wake()
    assert read_epoch() == epoch  # deep-sleep wakes keep the boot epoch
    print("sleeps", machine.DeepSleep.slept)
    print("wakes", [[(f.kind, f.boot_epoch, f.seq) for f in w] for w in wakes])
    print("hellos", radio.hellos)
    check_power()
    print("power", power if PWR is not None else "always")
    print("light", len(machine.light_slept), sum(machine.light_slept))
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
    power = [powered()]
    epoch = read_epoch()
    assert machine.DeepSleep.slept == [0], machine.DeepSleep.slept  # asleep until pressed
    assert esp32.ext0 == [(0, esp32.WAKEUP_ALL_LOW)], esp32.ext0
    machine.WDT.hook = None
    machine.WDT.turns = machine.WDT.n + 5 + (0 if PWR is None else cfg.get("radio_boot_ms", 2000) // 20 + 2)
    machine.wake(machine.EXT0_WAKE)  # a tap, already released when the loop first looks
    try:
        second = run_main()
    except KeyboardInterrupt:
        second = [frames.decode(f, KEY) for f in radio.frames[1:]]
    power.append(powered())
    assert read_epoch() == epoch
    check_power()
    if PWR is not None:
        assert machine.Pin.pins[PWR].v == 1  # awake again: the radio is on to hear the ACK
    assert machine.light_slept == [], machine.light_slept  # the button polls through the radio's boot
    print("power", power if PWR is not None else "always")
    print("sos sleeper", [(f.kind, f.boot_epoch, f.seq) for f in first + second])
    assert [f.kind for f in first + second] == ["sos", "sos"]
    assert second[0].boot_epoch == first[0].boot_epoch
    assert second[0].seq == (first[0].seq + 1) & 0xFFFF
    print("sos sleeper ok")
