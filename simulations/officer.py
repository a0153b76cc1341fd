"""A ward duty officer with a handheld radio: reads the cases the gateway sends, and takes them."""

import random
import re

from gateway.radio.sim import Air

# The gateway's local cases ("SOS L3: ...") and central's notifications ("SOS #42 P2 | ...").
_CASE = re.compile(r"^SOS #?(L?\d+)\b")


class VirtualOfficer:
    """Answers each new case with ``<case> ACK`` after a human delay, then ``<case> GO``."""

    def __init__(self, air: Air, node_id: int, gateway_radio: int, rng: random.Random) -> None:
        self.node_id = node_id
        self.inbox: list[str] = []
        self._air = air
        self._gateway_radio = gateway_radio
        self._rng = rng
        self._due: list[tuple[float, str]] = []
        self._now = 0.0
        self.replies = 0
        air.attach_text(node_id, self._read)

    def _read(self, _from: int, text: str) -> None:
        self.inbox.append(text)
        match = _CASE.match(text)
        if match:
            label = match.group(1)
            ack_at = self._now + self._rng.uniform(1.0, 4.0)
            self._due += [(ack_at, f"{label} ACK"), (ack_at + self._rng.uniform(2.0, 6.0), f"{label} GO")]

    def tick(self, now: float) -> None:
        """Send the replies that are due."""
        self._now = now
        due = [r for r in self._due if r[0] <= now]
        self._due = [r for r in self._due if r[0] > now]
        for _at, text in sorted(due):
            self.replies += 1
            self._air.transmit_text(self.node_id, text, to_id=self._gateway_radio)
