"""main.py as an SOS button: press (pin 0 low for a few turns), then an ACK arrives on the UART."""

import machine

from protocol import frames

KEY = bytes(range(16))
state = {}


def hook(turn):
    button = machine.Pin.pins.get(0)
    if turn == 2:
        button.v = 0
    elif turn == 6:
        button.v = 1
    elif turn == 10:
        sos = frames.decode(machine.UART.sent[0][4:], KEY)
        state["sos"] = sos
        ack = frames.encode(frames.Frame(sos.node_id, 9, 1, 0, frames.Ack(sos.boot_epoch, sos.seq, 42, 1)), KEY)
        machine.UART.inbox = bytes((0x94, 0xC3, 0, len(ack))) + ack


machine.WDT.hook = hook
machine.WDT.turns = 14
try:
    import main  # noqa: F401
except KeyboardInterrupt:
    pass
sos = state["sos"]
assert len(machine.UART.sent) == 1, machine.UART.sent
assert sos.payload == frames.Sos(2, 4, 1), sos
assert machine.Pin.pins[2].v == 1  # LED steady on: registered
print("sos ok", sos)
