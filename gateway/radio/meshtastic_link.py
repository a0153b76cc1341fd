"""The gateway's radio through the real ``meshtastic`` client library (TCP or serial).

Our frames ride in ``Data`` on ``protocol.mesh.FLOODMESH_PORTNUM``. Receive events come through
Meshtastic's process-wide pubsub bus, so each link filters on its own interface object. The factories
make interfaces that put our port's packets on a topic of their own, fast (``meshtastic_intake``).
"""

import base64
import binascii
import logging
import threading
from collections.abc import Callable
from typing import Any

from pubsub import pub

from gateway.radio.base import BROADCAST_NODE, IncomingText, PacketHandler, RadioPacket, TextHandler
from protocol.mesh import FLOODMESH_PORTNUM

FRAME_TOPIC = "floodmesh.radio.frame"  # where meshtastic_intake's interfaces put our port's packets

log = logging.getLogger(__name__)

InterfaceFactory = Callable[[], Any]


def tcp_interface_factory(host: str, port: int) -> InterfaceFactory:
    """Connect to a radio's client API over TCP (a networked radio, or the simulated one)."""

    def connect() -> Any:
        from gateway.radio.meshtastic_intake import FramesFirstTCPInterface

        return FramesFirstTCPInterface(hostname=host, portNumber=port, timeout=30)

    return connect


def serial_interface_factory(device: str) -> InterfaceFactory:
    """Connect to a radio on a USB serial port."""

    def connect() -> Any:
        from gateway.radio.meshtastic_intake import FramesFirstSerialInterface

        return FramesFirstSerialInterface(devPath=device, timeout=30)

    return connect


class MeshtasticRadioLink:
    """Implements ``RadioLink`` over a Meshtastic client interface, reconnecting by itself.

    A pulled USB cable or a rebooting radio must not stop the gateway: the link reports its state
    (``connecting``, ``up``, ``down``) and retries with exponential backoff until the radio is back.
    """

    def __init__(self, connect: InterfaceFactory, min_backoff_s: float = 0.5, max_backoff_s: float = 30.0) -> None:
        self._connect = connect
        self._min_backoff_s = min_backoff_s
        self._max_backoff_s = max_backoff_s
        self._iface: Any = None
        self._on_packet: PacketHandler | None = None
        self._on_text: TextHandler | None = None
        self._lock = threading.Lock()
        self._closing = threading.Event()
        self._reconnecting = threading.Lock()
        self.state = "connecting"
        self._connecting = False
        self._early: list[tuple[dict[str, Any], Any]] = []
        self.reconnects = 0
        self.foreign_packets = 0
        self.node_num: int | None = None

    def start(self, on_packet: PacketHandler) -> None:
        """Connect (the handshake completes before this returns, if the radio answers) and deliver
        our port's packets; if the radio does not answer, keep trying in the background."""
        self._on_packet = on_packet
        pub.subscribe(self._on_receive, "meshtastic.receive")
        pub.subscribe(self._on_receive, FRAME_TOPIC)
        pub.subscribe(self._on_lost, "meshtastic.connection.lost")
        pub.subscribe(self._on_established, "meshtastic.connection.established")
        if not self._try_connect():
            self._reconnect_in_background()

    def _try_connect(self) -> bool:
        with self._lock:
            self._early = []
            self._connecting = True
        try:
            iface = self._connect()
        except Exception as exc:  # any failure to reach the radio is the same to us: retry later
            log.warning("radio link down: %s", exc)
            self.state = "down"
            return False
        finally:
            with self._lock:
                self._connecting = False
        with self._lock:
            self._iface = iface
            early, self._early = [p for p, i in self._early if i is iface], []
        self.node_num = _my_node_num(iface) or self.node_num
        self.state = "up"
        # The radio may hand over packets the moment its handshake completes, before the client's
        # constructor has returned the interface: they were held, and are delivered now.
        for packet in early:
            self._deliver(packet)
        return True

    def _reconnect_in_background(self) -> None:
        if self._closing.is_set() or not self._reconnecting.acquire(blocking=False):
            return
        threading.Thread(target=self._reconnect_loop, name="radio-reconnect", daemon=True).start()

    def _reconnect_loop(self) -> None:
        try:
            delay = self._min_backoff_s
            while not self._closing.is_set():
                if self._closing.wait(delay):
                    return
                if self._try_connect():
                    self.reconnects += 1
                    log.info("radio link up again after %d reconnect(s)", self.reconnects)
                    return
                delay = min(delay * 2, self._max_backoff_s)
        finally:
            self._reconnecting.release()

    def _on_lost(self, interface: Any) -> None:
        if interface is not self._iface or self._closing.is_set():
            return
        log.warning("radio link lost")
        self.state = "down"
        with self._lock:
            old, self._iface = self._iface, None
        threading.Thread(target=_close_quietly, args=(old,), daemon=True).start()
        self._reconnect_in_background()

    def _on_established(self, interface: Any) -> None:
        if interface is self._iface:
            self.state = "up"

    def _on_receive(self, packet: dict[str, Any], interface: Any) -> None:
        with self._lock:
            if self._connecting and self._iface is None:
                self._early.append((packet, interface))
                return
        if interface is self._iface:
            self._deliver(packet)

    def _deliver(self, packet: dict[str, Any]) -> None:
        if self._on_packet is None:
            return
        decoded = packet.get("decoded") or {}
        if decoded.get("portnum") == "TEXT_MESSAGE_APP" and self._on_text is not None:
            self._on_text(incoming_text(packet))
            return
        if decoded.get("portnum") not in (FLOODMESH_PORTNUM, str(FLOODMESH_PORTNUM)):
            self.foreign_packets += 1
            return
        payload = decoded.get("payload")
        if not isinstance(payload, bytes | bytearray):
            return
        self._on_packet(RadioPacket(
            frame=bytes(payload),
            from_node=int(packet.get("from", 0)),
            rssi=packet.get("rxRssi"),
            snr=packet.get("rxSnr"),
        ))

    def send(self, node_id: int, frame: bytes) -> None:
        """Transmit a downlink frame to one node on our port; ConnectionError while the link is down."""
        iface = self._current()
        try:
            iface.sendData(frame, destinationId=node_id, portNum=FLOODMESH_PORTNUM, wantAck=False)
        except OSError as exc:  # the link died under the write: the caller counts a lost downlink
            raise ConnectionError(f"radio link failed: {exc}") from exc

    def _current(self) -> Any:
        """The interface to write to, taken under the lock but written to outside it: ``meshtastic``
        waits (sleeping, 0.5 s at a time) for the radio's QueueStatus when it counts the radio's queue
        full, and that status reaches it through the reader, which needs this lock to hand over a
        packet. Holding it across the write deadlocked the gateway under 5,000 readings/s."""
        with self._lock:
            if self._iface is None:
                raise ConnectionError("radio link is down")
            return self._iface

    def set_text_handler(self, handler: TextHandler) -> None:
        """Deliver TEXT_MESSAGE_APP messages to ``handler``."""
        self._on_text = handler

    def send_text(self, node_id: int | None, text: str) -> None:
        """Send a text message; ConnectionError while the link is down."""
        iface = self._current()
        try:
            iface.sendText(text, destinationId=node_id if node_id is not None else "^all", wantAck=False)
        except OSError as exc:
            raise ConnectionError(f"radio link failed: {exc}") from exc

    def close(self) -> None:
        """Stop reconnecting, unsubscribe and close the interface."""
        self._closing.set()
        for listener, topic in ((self._on_receive, "meshtastic.receive"), (self._on_receive, FRAME_TOPIC),
                                (self._on_lost, "meshtastic.connection.lost"),
                                (self._on_established, "meshtastic.connection.established")):
            pub.unsubscribe(listener, topic)
        with self._lock:
            old, self._iface = self._iface, None
        _close_quietly(old)
        self.state = "down"


def incoming_text(packet: dict[str, Any]) -> IncomingText:
    """A text packet as ``meshtastic`` delivers it (``MessageToDict`` of the ``MeshPacket``: camelCase
    keys, bytes as base64, false and zero fields left out) with the proof of its sender."""
    decoded = packet.get("decoded") or {}
    payload = decoded.get("payload")
    text = decoded.get("text") or (bytes(payload).decode("utf-8", "replace") if payload else "")
    return IncomingText(
        from_node=int(packet.get("from", 0)),
        text=str(text),
        to_node=int(packet.get("to", BROADCAST_NODE)),
        pki_encrypted=packet.get("pkiEncrypted") is True,
        public_key=_key_bytes(packet.get("publicKey")),
        channel=int(packet.get("channel", 0)),
    )


def _key_bytes(value: object) -> bytes | None:
    if isinstance(value, bytes | bytearray):
        return bytes(value) or None
    if not isinstance(value, str) or not value:
        return None
    try:
        return base64.b64decode(value, validate=True) or None
    except (binascii.Error, ValueError):
        return None  # a key we cannot read proves nothing; the text is then unauthenticated


def _my_node_num(iface: Any) -> int | None:
    my_info = getattr(iface, "myInfo", None)
    num = getattr(my_info, "my_node_num", None)
    return num if isinstance(num, int) and num else None


def _close_quietly(iface: Any) -> None:
    if iface is None:
        return
    try:
        iface.close()
    except Exception as exc:  # closing a dead link can fail in many ways; none of them matter
        log.debug("closing radio interface: %s", exc)
