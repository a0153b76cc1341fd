"""A ward duty officer with a handheld radio: reads the cases the gateway sends, and takes them."""

import base64
import csv
import random
import re
from collections.abc import Mapping
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from gateway.radio.base import IncomingText
from gateway.radio.sim import Air

# The gateway's local cases ("SOS L3: ...") and central's notifications ("SOS #42 P2 | ...").
_CASE = re.compile(r"^SOS #?(L?\d+)\b")


class VirtualOfficer:
    """Answers each new case with ``<case> ACK`` after a human delay, then ``<case> GO``.

    The handheld has its own Meshtastic PKI keypair (a real radio makes one at first boot); its
    replies are direct messages to the gateway, so they arrive PKI-encrypted under ``public_key``.
    """

    def __init__(
        self, air: Air, node_id: int, gateway_radio: int, rng: random.Random,
        private_key: X25519PrivateKey | None = None,
    ) -> None:
        self.node_id = node_id
        self._private_key = private_key or X25519PrivateKey.generate()
        self.public_key = self._private_key.public_key().public_bytes_raw()
        self.inbox: list[str] = []
        self._air = air
        self._gateway_radio = gateway_radio
        self._rng = rng
        self._due: list[tuple[float, str]] = []
        self._now = 0.0
        self.replies = 0
        air.attach_text(node_id, self._read)

    @property
    def public_key_b64(self) -> str:
        """The public key as the IOC enrols it (base64)."""
        return base64.b64encode(self.public_key).decode("ascii")

    def _read(self, heard: IncomingText) -> None:
        self.inbox.append(heard.text)
        match = _CASE.match(heard.text)
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
            self._air.transmit_text(self.node_id, text, to_id=self._gateway_radio, sender_key=self._private_key)


def enrol_officer_radios(authorities: Path, radios: Mapping[str, tuple[int, bytes]], out: Path) -> Path:
    """``authorities`` (central's CSV) with each listed ward's duty officer given a handheld radio,
    enrolled: its node id and PKI public key pinned (ward gateways refuse commands from any other key).
    ``radios`` maps a ward code to (radio node id, raw X25519 public key); the result is written to ``out``."""
    with authorities.open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    for row in rows:
        row.setdefault("radio_public_key", "")
        radio = radios.get(row["ward_code"])
        if radio is not None:
            row["radio_node_id"] = f"{radio[0]:08x}"
            row["radio_public_key"] = base64.b64encode(radio[1]).decode("ascii")
    with out.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return out
