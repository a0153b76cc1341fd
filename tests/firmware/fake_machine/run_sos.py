"""main.py as an SOS button: press (pin 0 low for a few turns), the radio relays it, an ACK comes back."""

import machine
from fake_radio import FakeRadio

from protocol import frames

KEY = bytes(range(16))
state = {}
radio = FakeRadio("ack")


def hook(turn):
    button = machine.Pin.pins.get(0)
    if turn == 2:
        button.v = 0
    elif turn == 6:
        button.v = 1
    elif turn == 10:
        sos = frames.decode(radio.frames[0], KEY)
        state["sos"] = sos
        ack = frames.encode(frames.Frame(sos.node_id, 9, 1, 0, frames.Ack(sos.boot_epoch, sos.seq, 42, 1)), KEY)
        radio.downlink(ack)


machine.WDT.hook = hook
machine.WDT.turns = 14
try:
    import main  # noqa: F401
except KeyboardInterrupt:
    pass
sos = state["sos"]
assert len(radio.frames) == 1, radio.frames
assert sos.payload == frames.Sos(2, 4, 1), sos
assert machine.Pin.pins[2].v == 1  # LED steady on: registered
print("sos ok", sos)
