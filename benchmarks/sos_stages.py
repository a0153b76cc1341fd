"""Where an SOS's radio -> radio time goes: two passive MQTT observers timestamp it on the broker.

One observer holds central's identity and reads the gateway's ``up/sos`` (central reads its own copy
through its subscription; this one is a plain subscription beside it); the other holds the
gateway's identity under another client id and reads its ``down/+``. Both are read-only listeners
the ACL already allows: no permission is added for the benchmark. Per SOS this gives

- ``gateway_up``: injected on the radio -> seen on the broker (radio read, verify, outbox commit with
  its fsync, publish), plus one broker hop to the observer;
- ``central``: SOS seen on the broker -> its ACK frame seen on the broker (central's ingest, case
  commit, downlink publish), one broker hop in and one out, less the observer's one;
- ``gateway_down``: ACK seen on the broker -> transmitted by the gateway's radio (paho, worker,
  transmit queue, ``meshtastic`` write, the simulated radio's read), less one broker hop.

Each stage is off by about half a broker round trip (the observer's hop), which the report states
beside the broker's own round trip. All clocks are ``time.perf_counter`` in this process.
"""

import threading
import time
from collections.abc import Callable

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from benchmarks.latency import percentiles
from protocol import topics
from protocol.envelopes import Uplink
from protocol.frames import peek_node_id
from protocol.mqtt_endpoint import MqttEndpoint

STAGES = ("gateway_up", "central", "gateway_down")


class StageObserver:
    """Timestamps, per button, the first time its SOS and its ACK pass the broker."""

    def __init__(self) -> None:
        self._up: dict[int, float] = {}
        self._down: dict[int, float] = {}
        self._lock = threading.Lock()
        self._clients: list[mqtt.Client] = []

    def start(self, central: MqttEndpoint, gateway: MqttEndpoint, ward: str, gateway_id: str) -> None:
        """Subscribe both observers; returns once the broker has confirmed both subscriptions."""
        self._clients = [
            _listener(central, "sos-stages-up", topics.uplink(ward, gateway_id, "sos"), self._uplink),
            _listener(gateway, "sos-stages-down", topics.downlink_filter(ward, gateway_id), self._downlink),
        ]

    def stop(self) -> None:
        """Disconnect both observers."""
        for client in self._clients:
            client.disconnect()
            client.loop_stop()
        self._clients = []

    def _uplink(self, topic: str, payload: bytes) -> None:
        now = time.perf_counter()
        try:
            node_id = peek_node_id(bytes.fromhex(Uplink.model_validate_json(payload).frame))
        except ValueError:
            return  # not ours to judge: central refuses and counts what it cannot read
        with self._lock:
            self._up.setdefault(node_id, now)

    def _downlink(self, topic: str, payload: bytes) -> None:
        now = time.perf_counter()
        leaf = topic.rsplit("/", 1)[-1]
        if leaf == "text":
            return
        with self._lock:
            self._down.setdefault(int(leaf, 16), now)

    def breakdown(
        self, injected: dict[int, float], acked: dict[int, float]
    ) -> dict[str, dict[str, float]]:
        """p50/p99/max of each stage over the buttons seen at every point (times in ms)."""
        with self._lock:
            seen = [n for n in injected if n in self._up and n in self._down and n in acked]
            parts = {
                "gateway_up": [self._up[n] - injected[n] for n in seen],
                "central": [self._down[n] - self._up[n] for n in seen],
                "gateway_down": [acked[n] - self._down[n] for n in seen],
            }
        if len(seen) < 2:
            return {}
        return {stage: percentiles([s * 1000 for s in samples]) for stage, samples in parts.items()}


def _listener(
    endpoint: MqttEndpoint, client_id: str, topic: str, deliver: Callable[[str, bytes], None]
) -> mqtt.Client:
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id)
    endpoint.configure(client)
    ready = threading.Event()
    client.on_connect = lambda c, *_: c.subscribe(topic, qos=0)  # qos 0: an observer must not hold the broker up
    client.on_subscribe = lambda *_: ready.set()
    client.on_message = lambda _c, _u, msg: deliver(msg.topic, bytes(msg.payload))
    client.connect(endpoint.host, endpoint.port)
    client.loop_start()
    if not ready.wait(20):
        raise TimeoutError(f"sos stages: {client_id} could not subscribe to {topic}; see the broker's log")
    return client
