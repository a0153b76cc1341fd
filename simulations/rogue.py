"""A rogue transmitter: noise, spoofed and unknown frames on the air, to show they are refused."""

import random

from gateway.radio.sim import Air
from protocol import frames
from protocol.registry import NodeRegistry

ROGUE_RADIO_ID = 0x0C0000FF


class RogueTransmitter:
    """Sends one bad frame per ``transmit``: garbage, a forged tag, or an unprovisioned node."""

    def __init__(self, air: Air, registry: NodeRegistry, rng: random.Random) -> None:
        self._air = air
        self._rng = rng
        self._victims = [r.node_id for r in registry if r.kind == "sos_button"]
        self.sent = 0

    def transmit(self, now_s: int) -> None:
        """Put one bad frame on the air."""
        choice = self._rng.randrange(3)
        if choice == 0:
            data = bytes(self._rng.randrange(256) for _ in range(self._rng.randint(3, 40)))
        else:
            node = self._rng.choice(self._victims) if choice == 1 and self._victims else ROGUE_RADIO_ID
            forged_key = bytes(self._rng.randrange(256) for _ in range(16))
            frame = frames.Frame(node, 1, self._rng.randrange(0x10000), now_s, frames.Sos(2, 4))
            data = frames.encode(frame, forged_key)
        self.sent += 1
        self._air.transmit(ROGUE_RADIO_ID, data)
