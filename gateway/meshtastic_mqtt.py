"""Meshtastic's own MQTT uplink: ``ServiceEnvelope`` on ``msh/<region>/2/e/<channel>/!<gateway>``.

Radios with the MQTT module publish what they hear there, channel-encrypted with AES-CTR. A ward
gateway can take its frames from that feed instead of (or besides) a radio on its serial port.
The channel key ``AQ==`` is Meshtastic's well-known default; one byte ``k`` means the default key
with its last byte increased by ``k - 1``; 16 or 32 bytes are an AES-128/256 key as is.
"""

import base64
import binascii
import struct
from dataclasses import dataclass

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from google.protobuf.message import DecodeError
from meshtastic.protobuf import mesh_pb2, mqtt_pb2

from gateway.radio.base import IncomingText, RadioPacket
from protocol.mesh import FLOODMESH_PORTNUM, TEXT_MESSAGE_PORTNUM

DEFAULT_KEY = bytes.fromhex("d4f1bb3a20290759f0bcffabcf4e6901")


class MeshMqttError(ValueError):
    """A Meshtastic MQTT message we refuse; ``reason`` is a short stable code for counting."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason


@dataclass(frozen=True)
class MeshTopic:
    """Where a ServiceEnvelope was published."""

    region: str
    channel: str
    gateway: str


def expand_channel_key(psk_base64: str) -> bytes:
    """The AES key for a channel PSK as Meshtastic writes it (base64); b"" means unencrypted."""
    try:
        psk = base64.b64decode(psk_base64, validate=True)
    except binascii.Error as exc:
        raise ValueError(f"channel key is not base64: {psk_base64!r}") from exc
    if psk in (b"", b"\x00"):
        return b""
    if len(psk) == 1:
        return DEFAULT_KEY[:-1] + bytes([(DEFAULT_KEY[-1] + psk[0] - 1) & 0xFF])
    if len(psk) in (16, 32):
        return psk
    raise ValueError(f"channel key must be 0, 1, 16 or 32 bytes, not {len(psk)}")


def parse_topic(topic: str) -> MeshTopic:
    """``msh/<region>/2/e/<channel>/!<gateway>`` (the region may itself contain slashes)."""
    parts = topic.split("/")
    if len(parts) < 6 or parts[0] != "msh" or parts[-4:-2] != ["2", "e"] or not parts[-1].startswith("!"):
        raise MeshMqttError("bad_topic", topic)
    return MeshTopic("/".join(parts[1:-4]), parts[-2], parts[-1])


def _nonce(packet: mesh_pb2.MeshPacket) -> bytes:
    return struct.pack("<QI", packet.id, getattr(packet, "from")) + b"\x00" * 4


def crypt(packet: mesh_pb2.MeshPacket, key: bytes, data: bytes) -> bytes:
    """AES-CTR is its own inverse: encrypts or decrypts ``data`` for this packet."""
    cipher = Cipher(algorithms.AES(key), modes.CTR(_nonce(packet)))
    ctx = cipher.encryptor()
    return ctx.update(data) + ctx.finalize()


def decode_packet(packet: mesh_pb2.MeshPacket, key: bytes) -> mesh_pb2.Data:
    """The packet's ``Data``, decrypting with the channel key when it travelled encrypted."""
    if packet.HasField("decoded"):
        return packet.decoded
    if not packet.encrypted:
        raise MeshMqttError("no_payload", "packet carries neither decoded nor encrypted data")
    if not key:
        raise MeshMqttError("encrypted_without_key", "the channel has no key configured")
    data = mesh_pb2.Data()
    try:
        data.ParseFromString(crypt(packet, key, packet.encrypted))
    except DecodeError as exc:
        raise MeshMqttError("wrong_channel_key", "decrypted bytes are not a Data message") from exc
    if data.portnum == 0:  # garbage that happened to parse: a wrong key yields no port
        raise MeshMqttError("wrong_channel_key", "decrypted Data has no port")
    return data


class ServiceEnvelopeIntake:
    """Turns Meshtastic MQTT messages into our radio packets and officials' texts."""

    def __init__(self, channel_keys: dict[str, bytes]) -> None:
        self._keys = channel_keys

    def envelope(self, topic: str, payload: bytes) -> tuple[mesh_pb2.MeshPacket, mesh_pb2.Data]:
        """Parse and decrypt one message; raises MeshMqttError with the reason."""
        where = parse_topic(topic)
        env = mqtt_pb2.ServiceEnvelope()
        try:
            env.ParseFromString(payload)
        except DecodeError as exc:
            raise MeshMqttError("bad_envelope", str(exc)) from exc
        if not env.HasField("packet"):
            raise MeshMqttError("bad_envelope", "no packet")
        if where.channel not in self._keys:
            raise MeshMqttError("unknown_channel", where.channel)
        return env.packet, decode_packet(env.packet, self._keys[where.channel])

    def handle(self, topic: str, payload: bytes) -> RadioPacket | IncomingText | None:
        """Our frame, an official's text, or None for other Meshtastic traffic (position, telemetry...)."""
        packet, data = self.envelope(topic, payload)
        sender = getattr(packet, "from")
        if data.portnum == FLOODMESH_PORTNUM:
            return RadioPacket(bytes(data.payload), sender, packet.rx_rssi or None, packet.rx_snr or None)
        if data.portnum == TEXT_MESSAGE_PORTNUM:
            try:
                text = data.payload.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise MeshMqttError("bad_text", "text message is not UTF-8") from exc
            # Only the channel key protects what comes this way (anyone with it can write any sender,
            # and PKI packets cannot be read here), so a text from MQTT is never PKI-authenticated,
            # whatever flags the envelope sets.
            return IncomingText(sender, text, packet.to, pki_encrypted=False, public_key=None)
        return None


def build_envelope(
    channel: str, gateway: str, key: bytes, from_node: int, to_node: int, packet_id: int, portnum: int, payload: bytes
) -> bytes:
    """A ServiceEnvelope as a radio's MQTT module publishes it (for downlinks and tests)."""
    packet = mesh_pb2.MeshPacket()
    setattr(packet, "from", from_node)
    packet.to = to_node
    packet.id = packet_id
    data = mesh_pb2.Data(portnum=portnum, payload=payload)  # type: ignore[arg-type,unused-ignore]
    if key:
        packet.encrypted = crypt(packet, key, data.SerializeToString())
    else:
        packet.decoded.CopyFrom(data)
    envelope = mqtt_pb2.ServiceEnvelope(packet=packet, channel_id=channel, gateway_id=gateway)
    return bytes(envelope.SerializeToString())
