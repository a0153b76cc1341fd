"""A small paho client for tests: records what arrives on a topic filter and can publish."""

import queue
import threading
import time
from collections.abc import Callable

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from floodmesh.broker import RunningBroker
from protocol import topics
from protocol.mqtt_endpoint import MqttEndpoint


class MqttPeer:
    """Subscribes to ``topic_filter`` as ``endpoint``'s identity and records (topic, payload) pairs."""

    def __init__(
        self, endpoint: MqttEndpoint, topic_filter: str, client_id: str = "test-peer", clean_session: bool = True,
    ) -> None:
        self.messages: list[tuple[str, bytes]] = []
        self._lock = threading.Lock()
        self._subscribed = threading.Event()
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=clean_session)
        endpoint.configure(self.client)
        self.granted: list[bool] = []  # per SUBACK: whether the broker granted the subscription
        self.client.on_connect = lambda c, *_: c.subscribe(topic_filter, qos=1)
        self.client.on_subscribe = self._on_subscribe
        self.client.on_message = self._on_message
        self.client.connect(endpoint.host, endpoint.port)
        self.client.loop_start()
        if not self._subscribed.wait(10):
            raise TimeoutError("test peer could not subscribe")

    def _on_subscribe(self, _c: mqtt.Client, _u: object, _mid: int, reasons: list[object], _p: object) -> None:
        self.granted = [not getattr(r, "is_failure", True) for r in reasons]
        self._subscribed.set()

    def _on_message(self, _c: mqtt.Client, _u: object, msg: mqtt.MQTTMessage) -> None:
        with self._lock:
            self.messages.append((msg.topic, bytes(msg.payload)))

    def publish(self, topic: str, payload: str | bytes) -> None:
        """Publish at QoS 1 and wait until the broker has it."""
        self.client.publish(topic, payload, qos=1).wait_for_publish(10)

    def snapshot(self) -> list[tuple[str, bytes]]:
        """What arrived so far."""
        with self._lock:
            return list(self.messages)

    def close(self) -> None:
        """Disconnect."""
        self.client.disconnect()
        self.client.loop_stop()
        # The bound-method callbacks make a peer <-> client cycle: the cyclic GC would finalize paho's
        # wake-up socket pair before the client could close it (a ResourceWarning at random).
        self.client.on_subscribe = self.client.on_message = None


def wait_until(predicate: Callable[[], bool], timeout_s: float = 15.0, what: str = "condition") -> None:
    """Poll ``predicate`` until true; fail the test with ``what`` if it never is."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.02)
    raise AssertionError(f"timed out after {timeout_s:.0f} s waiting for {what}")


def stand_in_gateway(
    broker: RunningBroker, ward: str, gateway: str
) -> tuple[mqtt.Client, "queue.Queue[mqtt.MQTTMessage]"]:
    """A connected paho client with ``gateway``'s own identity, subscribed to its downlinks and app acks."""
    inbox: queue.Queue[mqtt.MQTTMessage] = queue.Queue()
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"test-{gateway}")
    endpoint = broker.add_gateway(ward, gateway)
    endpoint.configure(client)
    subacks = threading.Semaphore(0)
    client.on_message = lambda _c, _u, msg: inbox.put(msg)
    client.on_subscribe = lambda *_: subacks.release()
    client.connect(endpoint.host, endpoint.port)
    client.loop_start()
    for topic in (topics.downlink_filter(ward, gateway), topics.app_ack(ward, gateway)):
        client.subscribe(topic, qos=1)
    for _ in range(2):
        assert subacks.acquire(timeout=10), "the broker never answered the gateway's SUBSCRIBE"
    return client, inbox
