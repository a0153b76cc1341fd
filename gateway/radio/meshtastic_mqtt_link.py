"""A radio link fed by Meshtastic's own MQTT uplink (radios with the MQTT module enabled).

Frames on our port become radio packets; officials' texts go to ``on_text``; anything refused
(bad envelope, wrong channel key, unknown channel) is counted by reason. Downlinks are published
back as channel-encrypted ServiceEnvelopes for radios with MQTT downlink enabled.
"""

import itertools
import logging
import random
from collections import Counter

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from gateway.meshtastic_mqtt import MeshMqttError, ServiceEnvelopeIntake, build_envelope
from gateway.radio.base import IncomingText, PacketHandler, RadioPacket, TextHandler
from protocol.mesh import FLOODMESH_PORTNUM, TEXT_MESSAGE_PORTNUM
from protocol.mqtt_endpoint import release

log = logging.getLogger(__name__)


class MeshtasticMqttLink:
    """Implements ``RadioLink`` over a broker carrying ``msh/...`` ServiceEnvelopes."""

    def __init__(
        self,
        host: str,
        port: int,
        region: str,
        channel: str,
        channel_key: bytes,
        gateway_node: int,
        on_text: TextHandler | None = None,
    ) -> None:
        self._intake = ServiceEnvelopeIntake({channel: channel_key})
        self._region, self._channel, self._key = region, channel, channel_key
        self._gateway_node = gateway_node
        self.node_num: int | None = gateway_node
        self._on_text = on_text
        self._on_packet: PacketHandler | None = None
        self._ids = itertools.count(random.getrandbits(31))  # packet ids must not repeat across restarts
        self.rejected: Counter[str] = Counter()
        self.state = "connecting"
        self._client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"floodmesh-msh-{gateway_node:08x}")
        self._client.on_connect = self._on_connect
        self._client.on_disconnect = self._on_disconnect
        self._client.on_message = self._on_message
        self._host, self._port = host, port

    def start(self, on_packet: PacketHandler) -> None:
        """Subscribe to the Meshtastic topics; paho reconnects by itself."""
        self._on_packet = on_packet
        self._client.reconnect_delay_set(1, 30)
        self._client.connect_async(self._host, self._port)
        self._client.loop_start()

    def _on_connect(self, client: mqtt.Client, _u: object, _f: object, reason: object, _p: object) -> None:
        if getattr(reason, "is_failure", False):
            self.state = "down"
            return
        client.subscribe("msh/#", qos=1)
        self.state = "up"

    def _on_disconnect(self, *_args: object) -> None:
        self.state = "down"

    def _on_message(self, _c: mqtt.Client, _u: object, msg: mqtt.MQTTMessage) -> None:
        try:
            heard = self._intake.handle(msg.topic, bytes(msg.payload))
        except MeshMqttError as exc:
            self.rejected[exc.reason] += 1
            log.warning("meshtastic mqtt: refused %s on %s: %s", exc.reason, msg.topic, exc)
            return
        if isinstance(heard, RadioPacket) and self._on_packet is not None:
            self._on_packet(heard)
        elif isinstance(heard, IncomingText) and self._on_text is not None:
            self._on_text(heard)

    def send(self, node_id: int, frame: bytes) -> None:
        """Publish a downlink as the gateway's radio would relay it."""
        self._publish(node_id, FLOODMESH_PORTNUM, frame)

    def _publish(self, node_id: int, portnum: int, data: bytes) -> None:
        payload = build_envelope(self._channel, f"!{self._gateway_node:08x}", self._key, self._gateway_node, node_id,
                                 next(self._ids) & 0xFFFFFFFF, portnum, data)
        topic = f"msh/{self._region}/2/e/{self._channel}/!{self._gateway_node:08x}"
        self._client.publish(topic, payload, qos=1)

    def set_text_handler(self, handler: TextHandler) -> None:
        """Deliver officials' text messages to ``handler``."""
        self._on_text = handler

    def send_text(self, node_id: int | None, text: str) -> None:
        """Publish a text message as the gateway's radio would relay it."""
        self._publish(node_id if node_id is not None else 0xFFFFFFFF, TEXT_MESSAGE_PORTNUM, text.encode("utf-8"))

    def close(self) -> None:
        """Disconnect and release the client's sockets."""
        release(self._client)
        self.state = "down"
