"""The gateway's radio through the real ``meshtastic`` client library (TCP or serial).

Our frames ride in ``Data`` on ``protocol.mesh.FLOODMESH_PORTNUM``. Receive events come through
Meshtastic's process-wide pubsub bus, so each link filters on its own interface object.
"""

import logging
import threading
from collections.abc import Callable
from typing import Any

from pubsub import pub

from gateway.radio.base import PacketHandler, RadioPacket
from protocol.mesh import FLOODMESH_PORTNUM

log = logging.getLogger(__name__)

InterfaceFactory = Callable[[], Any]


def tcp_interface_factory(host: str, port: int) -> InterfaceFactory:
    """Connect to a radio's client API over TCP (a networked radio, or the simulated one)."""

    def connect() -> Any:
        from meshtastic.tcp_interface import TCPInterface

        return TCPInterface(hostname=host, portNumber=port, timeout=30)

    return connect


def serial_interface_factory(device: str) -> InterfaceFactory:
    """Connect to a radio on a USB serial port."""

    def connect() -> Any:
        from meshtastic.serial_interface import SerialInterface

        return SerialInterface(devPath=device, timeout=30)

    return connect


class MeshtasticRadioLink:
    """Implements ``RadioLink`` over a Meshtastic client interface."""

    def __init__(self, connect: InterfaceFactory) -> None:
        self._connect = connect
        self._iface: Any = None
        self._on_packet: PacketHandler | None = None
        self._lock = threading.Lock()
        self.foreign_packets = 0

    def start(self, on_packet: PacketHandler) -> None:
        """Connect (the handshake completes before this returns) and deliver our port's packets."""
        self._on_packet = on_packet
        pub.subscribe(self._on_receive, "meshtastic.receive")
        self._iface = self._connect()

    def _on_receive(self, packet: dict[str, Any], interface: Any) -> None:
        if interface is not self._iface or self._on_packet is None:
            return
        decoded = packet.get("decoded") or {}
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
        """Transmit a downlink frame to one node on our port."""
        with self._lock:
            if self._iface is None:
                raise ConnectionError("radio not connected")
            self._iface.sendData(frame, destinationId=node_id, portNum=FLOODMESH_PORTNUM, wantAck=False)

    def close(self) -> None:
        """Unsubscribe and close the interface."""
        pub.unsubscribe(self._on_receive, "meshtastic.receive")
        with self._lock:
            if self._iface is not None:
                self._iface.close()
                self._iface = None
