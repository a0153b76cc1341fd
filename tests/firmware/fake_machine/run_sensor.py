"""main.py as a water-level sensor behind a fake radio; argv: radio mode, loop turns (3), expected mm (1013).

"ack": the first turns report a level and a node status, both delivered (queue empties).
"mute": the radio never answers: the hello is repeated, frames stay queued in flash.
"garbage": noise and a corrupt FromRadio on the UART first; then as "ack".
"""

import sys

import machine
from fake_radio import FakeRadio

from protocol import frames

KEY = bytes(range(16))
mode = sys.argv[1] if len(sys.argv) > 1 else "ack"
radio = FakeRadio("mute" if mode == "mute" else "ack")
if mode == "garbage":
    machine.UART.inbox = b"INFO | ??:??:?? 2 [Router] \x94 boot\r\n\x94\xc3\x00\x04\xff\xff\xff\xff\x94\xc3\xff\xff"
machine.WDT.turns = int(sys.argv[2]) if len(sys.argv) > 2 else 3
try:
    import main  # noqa: F401
except KeyboardInterrupt:
    pass
got = [frames.decode(f, KEY) for f in radio.frames]
with open("queue.bin", "rb") as fh:
    queued = len(fh.read())
print("sensor", mode, "hellos", radio.hellos, "sent", [f.kind for f in got], "queued_bytes", queued)
if mode == "mute":
    assert [f.kind for f in got] == ["water_level"], got  # one in flight, waiting for its ACK
    assert queued > 0
else:
    assert [f.kind for f in got][-2:] == ["water_level", "node_status"], got
    assert got[-2].payload.distance_mm == (int(sys.argv[3]) if len(sys.argv) > 3 else 1013), got[-2]
    assert got[-1].seq == got[-2].seq + 1
    assert queued == 0
    assert all(pb_to == 0xFFFFFFFF for pb_to in [p[0][2] for p in radio.packets if p[0][0] == 2])
print("sensor ok")
