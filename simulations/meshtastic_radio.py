"""A simulated Meshtastic radio that speaks the real client stream protocol over TCP.

The gateway's radio path in tests is then the real ``meshtastic`` client library: frames are
``0x94 0xC3`` + 2-byte big-endian length + a ``ToRadio``/``FromRadio`` protobuf, and the handshake
is ``want_config_id`` -> ``my_info``, ``node_info``, ``config_complete_id`` (the client waits up to
300 s without a ``node_info`` and 30 s without the matching ``config_complete_id``). The client
first writes 32 wake bytes ``0xC3``, which the parser must skip while hunting for ``0x94``.
"""

import itertools
import logging
import socket
import threading
from collections.abc import Callable

from meshtastic.protobuf import mesh_pb2

log = logging.getLogger(__name__)

START1, START2 = 0x94, 0xC3
MAX_PAYLOAD = 512

TransmitHook = Callable[[mesh_pb2.MeshPacket], None]


def frame_stream(message: bytes) -> bytes:
    """One protobuf message in the stream framing."""
    return bytes([START1, START2, len(message) >> 8, len(message) & 0xFF]) + message


class StreamParser:
    """Splits a byte stream into protobuf payloads, resynchronising after noise."""

    def __init__(self) -> None:
        self._buf = bytearray()
        self.garbage_bytes = 0

    def feed(self, data: bytes) -> list[bytes]:
        """Add received bytes; return every complete payload now available."""
        self._buf += data
        out: list[bytes] = []
        while True:
            start = self._buf.find(bytes([START1, START2]))
            if start < 0:
                keep = 1 if self._buf.endswith(bytes([START1])) else 0
                self.garbage_bytes += len(self._buf) - keep
                del self._buf[: len(self._buf) - keep]
                return out
            self.garbage_bytes += start
            del self._buf[:start]
            if len(self._buf) < 4:
                return out
            length = (self._buf[2] << 8) | self._buf[3]
            if length > MAX_PAYLOAD:
                self.garbage_bytes += 2
                del self._buf[:2]  # a false start: hunt for the next 0x94 0xC3
                continue
            if len(self._buf) < 4 + length:
                return out
            out.append(bytes(self._buf[4 : 4 + length]))
            del self._buf[: 4 + length]


class SimulatedMeshtasticRadio:
    """A radio with node number ``node_num`` serving one client API connection on TCP."""

    def __init__(self, node_num: int, host: str = "127.0.0.1", port: int = 0, on_transmit: TransmitHook | None = None):
        self.node_num = node_num
        self.on_transmit = on_transmit
        self.transmitted: list[mesh_pb2.MeshPacket] = []
        # Packets heard while no client was connected: a radio hands them over right after the
        # handshake, before the client has even finished setting itself up.
        self.waiting: list[tuple[int, int, bytes]] = []
        self._server = socket.create_server((host, port))
        self.host, self.port = self._server.getsockname()[:2]
        self._client: socket.socket | None = None
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._stop = threading.Event()
        self.connected = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="sim-meshtastic", daemon=True)
        self._thread.start()

    # --- the radio's side of the air -------------------------------------------------------------

    def inject(
        self, from_num: int, portnum: int, payload: bytes, rssi: int = -95, snr: float = 6.25, *,
        to: int | None = None, channel: int = 0, pki_public_key: bytes | None = None,
    ) -> None:
        """A packet heard over LoRa: hand it to the connected client as ``FromRadio.packet``.

        ``to`` defaults to this radio (a direct message); ``0xFFFFFFFF`` is the whole channel. With
        ``pki_public_key`` the packet is one the firmware decrypted with PKI (Meshtastic 2.5+): it sets
        ``pki_encrypted`` and ``public_key`` (the sender's key, as it knows it) on what it hands over.
        """
        packet = mesh_pb2.MeshPacket()
        setattr(packet, "from", from_num)  # "from" is a Python keyword
        packet.to = self.node_num if to is None else to
        packet.channel = channel
        packet.id = next(self._ids)
        packet.rx_rssi = rssi
        packet.rx_snr = snr
        packet.decoded.portnum = portnum  # type: ignore[assignment,unused-ignore]
        packet.decoded.payload = payload
        if pki_public_key is not None:
            if packet.to != self.node_num:
                raise ValueError("PKI is for direct messages: a PKI packet must be addressed to this radio")
            packet.pki_encrypted = True
            packet.public_key = pki_public_key
        self._send(mesh_pb2.FromRadio(id=packet.id, packet=packet))

    def drop_client(self) -> None:
        """Cut the client's connection, as a USB cable pulled or a radio rebooting would."""
        with self._lock:
            if self._client is not None:
                self._client.shutdown(socket.SHUT_RDWR)

    def close(self) -> None:
        """Stop serving."""
        self._stop.set()
        self.drop_client()
        self._server.close()
        self._thread.join(timeout=5)

    # --- client API ------------------------------------------------------------------------------

    def _send(self, message: mesh_pb2.FromRadio) -> None:
        with self._lock:
            if self._client is None:
                raise ConnectionError("no client connected to the radio")
            self._client.sendall(frame_stream(message.SerializeToString()))

    def _serve(self) -> None:
        self._server.settimeout(0.2)
        while not self._stop.is_set():
            try:
                conn, _addr = self._server.accept()
            except (TimeoutError, OSError):
                continue
            with self._lock:
                self._client = conn
            try:
                self._session(conn)
            finally:
                with self._lock:
                    self._client = None
                self.connected.clear()
                conn.close()

    def _session(self, conn: socket.socket) -> None:
        parser = StreamParser()
        while not self._stop.is_set():
            try:
                data = conn.recv(4096)
            except OSError:
                return
            if not data:
                return
            for payload in parser.feed(data):
                self._handle(payload)

    def _handle(self, payload: bytes) -> None:
        message = mesh_pb2.ToRadio()
        try:
            message.ParseFromString(payload)
        except Exception:  # a real radio ignores what it cannot parse; so do we, loudly
            log.warning("simulated radio: unparseable ToRadio (%d bytes)", len(payload))
            return
        if message.HasField("want_config_id"):
            self._handshake(message.want_config_id)
        elif message.HasField("packet"):
            self.transmitted.append(message.packet)
            if self.on_transmit is not None:
                self.on_transmit(message.packet)

    def _handshake(self, config_id: int) -> None:
        me = f"!{self.node_num:08x}"
        self._send(mesh_pb2.FromRadio(my_info=mesh_pb2.MyNodeInfo(my_node_num=self.node_num)))
        user = mesh_pb2.User(id=me, long_name=f"floodmesh gateway radio {me}", short_name="FMGW")
        self._send(mesh_pb2.FromRadio(node_info=mesh_pb2.NodeInfo(num=self.node_num, user=user)))
        self._send(mesh_pb2.FromRadio(config_complete_id=config_id))
        waiting, self.waiting = self.waiting, []
        for from_num, portnum, payload in waiting:
            self.inject(from_num, portnum, payload)
        self.connected.set()
