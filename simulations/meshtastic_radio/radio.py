"""A simulated Meshtastic node that any client API client (the ``meshtastic`` library) can drive.

It answers the config handshake (``handshake``), admin requests to itself (``admin``), queue status
and routing ACK/NAK for what the client transmits (``routing``), over TCP or a pty (``transport``).
The air side is ``inject`` (a packet heard over LoRa) and ``on_transmit`` / ``transmitted`` (what the
client sent out); a mesh model decides delivery through ``delivery`` and ``report_delivery``.
"""

import itertools
import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Literal

from meshtastic.protobuf import mesh_pb2, portnums_pb2

from simulations.meshtastic_radio.admin import answer_admin
from simulations.meshtastic_radio.device_state import DeviceState, default_device_state
from simulations.meshtastic_radio.handshake import config_sequence
from simulations.meshtastic_radio.routing import (
    BROADCAST,
    Delivery,
    air_ack,
    always_delivered,
    delivery_reply,
    refusal,
    routing_reply,
)
from simulations.meshtastic_radio.stream import frame_stream
from simulations.meshtastic_radio.transport import ClientTransport, PtyTransport, TcpTransport

log = logging.getLogger(__name__)

TransmitHook = Callable[[mesh_pb2.MeshPacket], None]
DeliveryPolicy = Callable[[mesh_pb2.MeshPacket], Delivery]
MAX_TX_QUEUE = 16  # firmware MAX_TX_QUEUE: what QueueStatus reports as maxlen
_RECENT_IDS = 20  # PhoneAPI::wasSeenRecently remembers the last 20 packet ids from the client


class SimulatedMeshtasticRadio:
    """A radio with node number ``node_num`` serving one client at a time on TCP (default) or a pty."""

    def __init__(self, node_num: int, host: str = "127.0.0.1", port: int = 0, on_transmit: TransmitHook | None = None,
                 *, link: Literal["tcp", "pty"] = "tcp", state: DeviceState | None = None,
                 delivery: DeliveryPolicy = always_delivered) -> None:
        self.node_num = node_num
        self.state = state if state is not None else default_device_state(node_num)
        if self.state.node_num != node_num:
            raise ValueError(f"state is for node {self.state.node_num:08x}, not {node_num:08x}: build it for this node")
        self.on_transmit = on_transmit
        self.delivery = delivery
        self.transmitted: list[mesh_pb2.MeshPacket] = []
        # Routing ACKs the node itself sent over the air for want_ack packets addressed to it.
        self.acks_sent: list[mesh_pb2.MeshPacket] = []
        # Packets heard while no client was connected: a radio hands them over right after the
        # handshake, before the client has even finished setting itself up.
        self.waiting: list[tuple[int, int, bytes]] = []
        self.refused: dict[str, int] = {}
        self.connected = threading.Event()
        self._pending: dict[int, mesh_pb2.MeshPacket] = {}
        self._recent_ids: deque[int] = deque(maxlen=_RECENT_IDS)
        self._ids = itertools.count(1)
        self._transport: ClientTransport = PtyTransport() if link == "pty" else TcpTransport(host, port)
        self._transport.start(self._handle, self.connected.clear)

    @property
    def address(self) -> str:
        """Where a client connects: ``tcp:HOST:PORT`` or ``serial:/dev/pts/N`` (the gateway's ``--radio``)."""
        return self._transport.address

    @property
    def host(self) -> str:
        """The TCP host (TCP radios only)."""
        return str(self._tcp().host)

    @property
    def port(self) -> int:
        """The TCP port (TCP radios only)."""
        return int(self._tcp().port)

    @property
    def serial_path(self) -> str:
        """The pty's slave path a ``SerialInterface`` opens (pty radios only)."""
        if not isinstance(self._transport, PtyTransport):
            raise AttributeError("this radio serves TCP: build it with link='pty' for a serial port")
        return self._transport.path

    # --- the radio's side of the air -------------------------------------------------------------

    def inject(
        self, from_num: int, portnum: int, payload: bytes, rssi: int = -95, snr: float = 6.25, *,
        to: int | None = None, channel: int = 0, pki_public_key: bytes | None = None,
        want_ack: bool = False, hop_start: int = 3, hop_limit: int = 3, rx_time: int | None = None,
    ) -> int:
        """A packet heard over LoRa: hand it to the connected client as ``FromRadio.packet``; its id.

        ``to`` defaults to this radio (a direct message); ``0xFFFFFFFF`` is the whole channel. With
        ``pki_public_key`` the packet is one the firmware decrypted with PKI (Meshtastic 2.5+): it sets
        ``pki_encrypted`` and ``public_key`` (the sender's key, as it knows it) on what it hands over.
        A want_ack packet for this radio is acknowledged over the air by the node itself (``acks_sent``).
        ``rx_time`` (epoch seconds) defaults to now; a simulation passes its own clock.
        """
        packet = mesh_pb2.MeshPacket()
        setattr(packet, "from", from_num)  # "from" is a Python keyword
        packet.to = self.node_num if to is None else to
        packet.channel = channel
        packet.id = next(self._ids)
        packet.rx_rssi = rssi
        packet.rx_snr = snr
        packet.want_ack = want_ack
        packet.rx_time = int(time.time()) if rx_time is None else rx_time
        packet.hop_start = hop_start
        packet.hop_limit = hop_limit
        packet.decoded.portnum = portnum  # type: ignore[assignment,unused-ignore]
        packet.decoded.payload = payload
        if pki_public_key is not None:
            if packet.to != self.node_num:
                raise ValueError("PKI is for direct messages: a PKI packet must be addressed to this radio")
            packet.pki_encrypted = True
            packet.public_key = pki_public_key
        self._send(mesh_pb2.FromRadio(id=packet.id, packet=packet))
        if want_ack and packet.to == self.node_num:
            self.acks_sent.append(air_ack(self.state, packet))
        return int(packet.id)

    def report_delivery(self, packet_id: int, delivery: Delivery) -> None:
        """The mesh's verdict on a transmitted want_ack packet left PENDING: the client gets its ACK/NAK."""
        sent = self._pending.pop(packet_id, None)
        if sent is None:
            raise KeyError(f"no pending want_ack packet {packet_id:#x}: report each packet once, after it was sent")
        reply = delivery_reply(self.state, sent, delivery)
        if reply is not None:
            self._hand_over(reply)

    def reboot(self) -> None:
        """Reboot the node: the client is told (``FromRadio.rebooted``) and does the handshake again."""
        self.state.reboot_count += 1
        self.connected.clear()
        self._send(mesh_pb2.FromRadio(rebooted=True))

    def drop_client(self) -> None:
        """Cut the client's connection, as a USB cable pulled or a radio rebooting would (TCP only)."""
        self._transport.drop_client()

    def close(self) -> None:
        """Stop serving."""
        self._transport.close()

    # --- client API ------------------------------------------------------------------------------

    def _tcp(self) -> TcpTransport:
        if not isinstance(self._transport, TcpTransport):
            raise AttributeError("this radio serves a pty: use serial_path, or build it with link='tcp'")
        return self._transport

    def _send(self, message: mesh_pb2.FromRadio) -> None:
        self._transport.send(frame_stream(message.SerializeToString()))

    def _hand_over(self, packet: mesh_pb2.MeshPacket) -> None:
        packet.id = packet.id or next(self._ids)
        self._send(mesh_pb2.FromRadio(id=packet.id, packet=packet))

    def _handle(self, payload: bytes) -> None:
        message = mesh_pb2.ToRadio()
        try:
            message.ParseFromString(payload)
        except Exception:  # a real radio ignores what it cannot parse; so do we, loudly and counted
            self._refuse("unparseable_to_radio", f"unparseable ToRadio ({len(payload)} bytes)")
            return
        variant = message.WhichOneof("payload_variant")
        if variant == "want_config_id":
            self._handshake(message.want_config_id)
        elif variant == "packet":
            self._from_client(message.packet)
        elif variant == "disconnect":
            self.connected.clear()
            self._transport.end_session()
        elif variant == "heartbeat":
            self._send_queue_status(0)

    def _handshake(self, nonce: int) -> None:
        self.connected.clear()
        for message in config_sequence(self.state, nonce):
            self._send(message)
        waiting, self.waiting = self.waiting, []
        for from_num, portnum, payload in waiting:
            self.inject(from_num, portnum, payload)
        self.connected.set()

    def _from_client(self, packet: mesh_pb2.MeshPacket) -> None:
        if packet.id and packet.id in self._recent_ids:
            log.debug("simulated radio: packet %#x from the client again, ignored as the firmware does", packet.id)
            return
        if packet.id:
            self._recent_ids.append(packet.id)
        packet.id = packet.id or next(self._ids)
        setattr(packet, "from", self.node_num)  # clients may not choose the sender; the node fills it in
        self._send_queue_status(packet.id)
        if packet.to in (self.node_num, 0):
            self._to_self(packet)
            return
        error = refusal(self.state, packet)
        if error is not None:
            self._refuse(mesh_pb2.Routing.Error.Name(error).lower(), f"packet {packet.id:#x} to {packet.to:#x}")
            self._hand_over(routing_reply(self.state, packet, error))
            return
        packet.hop_limit = packet.hop_limit or self.state.config.lora.hop_limit
        packet.hop_start = packet.hop_limit
        self.transmitted.append(packet)
        if self.on_transmit is not None:
            self.on_transmit(packet)
        if packet.want_ack:
            self._settle(packet, self.delivery(packet))

    def _settle(self, packet: mesh_pb2.MeshPacket, delivery: Delivery) -> None:
        if delivery is Delivery.PENDING:
            self._pending[packet.id] = packet
            return
        reply = delivery_reply(self.state, packet, delivery)
        if reply is not None:
            self._hand_over(reply)

    def _to_self(self, packet: mesh_pb2.MeshPacket) -> None:
        packet.to = self.node_num
        if packet.decoded.portnum == portnums_pb2.PortNum.ADMIN_APP:
            reply = answer_admin(self.state, packet)
        elif packet.decoded.want_response:
            reply = routing_reply(self.state, packet, mesh_pb2.Routing.Error.NO_RESPONSE)
        elif packet.want_ack:
            reply = routing_reply(self.state, packet, mesh_pb2.Routing.Error.NONE)
        else:
            reply = None
        if reply is None:
            return
        if reply.decoded.portnum == portnums_pb2.PortNum.ROUTING_APP:
            error = mesh_pb2.Routing.FromString(reply.decoded.payload).error_reason
            if error != mesh_pb2.Routing.Error.NONE:
                self._refuse(mesh_pb2.Routing.Error.Name(error).lower(), f"request {packet.id:#x} to this node")
        self._hand_over(reply)

    def _send_queue_status(self, packet_id: int) -> None:
        self._send(mesh_pb2.FromRadio(queueStatus=mesh_pb2.QueueStatus(
            res=0, free=MAX_TX_QUEUE, maxlen=MAX_TX_QUEUE, mesh_packet_id=packet_id)))

    def _refuse(self, reason: str, detail: str) -> None:
        self.refused[reason] = self.refused.get(reason, 0) + 1
        log.warning("simulated radio %08x refused %s: %s", self.node_num, reason, detail)


__all__ = ["BROADCAST", "Delivery", "DeliveryPolicy", "SimulatedMeshtasticRadio", "TransmitHook"]
