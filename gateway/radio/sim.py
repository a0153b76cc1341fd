"""A simulated radio channel for one ward: nodes and the gateway share an in-process ``Air``.

It stands in for the LoRa mesh at the radio-hardware boundary, carrying the exact frame bytes the
real radios would; loss can be injected to exercise retries. Text messages follow Meshtastic 2.5+:
a direct message from a sender holding a Curve25519 private key arrives PKI-marked with the sender's
public key, everything else (the channel, or a sender without a key) arrives channel-encrypted only.
"""

import random
import threading
from collections.abc import Callable

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from gateway.radio.base import BROADCAST_NODE, IncomingText, PacketHandler, RadioPacket, TextHandler

Listener = Callable[[int, bytes], None]
TextListener = TextHandler


class Air:
    """Broadcast medium: every transmission reaches every other attached station (minus losses)."""

    def __init__(self, loss: float = 0.0, seed: int | None = None) -> None:
        self._listeners: dict[int, Listener] = {}
        self._text_listeners: dict[int, TextListener] = {}
        self._lock = threading.Lock()
        self._rng = random.Random(seed)  # noqa: S311 - loss simulation, not security
        self.loss = loss
        self.transmissions = 0
        self.lost = 0

    def attach(self, station_id: int, listener: Listener) -> None:
        """Let ``station_id`` hear what others transmit: ``listener(from_id, frame)``."""
        with self._lock:
            self._listeners[station_id] = listener

    def attach_text(self, station_id: int, listener: TextListener) -> None:
        """Let ``station_id`` read text messages (a handheld radio's screen)."""
        with self._lock:
            self._text_listeners[station_id] = listener

    def detach(self, station_id: int) -> None:
        """Stop delivering to ``station_id``."""
        with self._lock:
            self._listeners.pop(station_id, None)
            self._text_listeners.pop(station_id, None)

    def transmit_text(
        self, from_id: int, text: str, to_id: int | None = None, sender_key: X25519PrivateKey | None = None
    ) -> None:
        """A text message (Meshtastic TEXT_MESSAGE_APP) to one station or all.

        A direct message (``to_id``) sent with the sender's private key is PKI-encrypted: the receiver
        learns the matching public key. Whoever claims ``from_id`` without that key cannot produce it.
        """
        pki = to_id is not None and sender_key is not None
        public_key = sender_key.public_key().public_bytes_raw() if pki and sender_key is not None else None
        heard = IncomingText(from_id, text, BROADCAST_NODE if to_id is None else to_id, pki, public_key)
        with self._lock:
            targets = [fn for sid, fn in self._text_listeners.items()
                       if sid != from_id and (to_id is None or sid == to_id)]
        for listener in targets:
            listener(heard)

    def transmit(self, from_id: int, frame: bytes, to_id: int | None = None) -> None:
        """Send ``frame`` from ``from_id`` to one station or (``to_id`` None) to all others."""
        with self._lock:
            self.transmissions += 1
            if self.loss and self._rng.random() < self.loss:
                self.lost += 1
                return
            targets = [
                (sid, fn) for sid, fn in self._listeners.items() if sid != from_id and (to_id is None or sid == to_id)
            ]
        for _sid, listener in targets:
            listener(from_id, frame)


class SimRadioLink:
    """The gateway's end of an ``Air``: implements ``RadioLink``."""

    def __init__(self, air: Air, station_id: int, rssi: int = -90, snr: float = 7.5) -> None:
        self.air = air
        self.station_id = station_id
        self.node_num: int | None = station_id
        self.state = "up"
        self._rssi = rssi
        self._snr = snr

    def start(self, on_packet: PacketHandler) -> None:
        """Attach to the air and forward every frame heard to ``on_packet``."""

        def heard(from_id: int, frame: bytes) -> None:
            on_packet(RadioPacket(frame=frame, from_node=from_id, rssi=self._rssi, snr=self._snr))

        self.air.attach(self.station_id, heard)

    def send(self, node_id: int, frame: bytes) -> None:
        """Transmit a downlink to one node."""
        self.air.transmit(self.station_id, frame, to_id=node_id)

    def set_text_handler(self, handler: TextListener) -> None:
        """Read text messages from the air."""
        self.air.attach_text(self.station_id, handler)

    def send_text(self, node_id: int | None, text: str) -> None:
        """Send a text message."""
        self.air.transmit_text(self.station_id, text, to_id=node_id)

    def close(self) -> None:
        """Detach from the air."""
        self.air.detach(self.station_id)
