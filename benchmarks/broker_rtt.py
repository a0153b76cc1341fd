"""The broker's own round trip, the baseline of ``sos_latency``: paho -> Mosquitto -> paho -> reply.

A stand-in gateway publishes on its own uplink topic; a client with central's identity receives it and
answers on that gateway's downlink topic; both QoS 1, TLS, TCP_NODELAY (``MqttEndpoint.configure``).
The answer is published from a thread of its own, as central does, never from paho's callback.
"""

import queue
import threading
import time
from collections.abc import Callable

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from floodmesh.broker import RunningBroker
from protocol import topics
from protocol.mqtt_endpoint import MqttEndpoint

_GATEWAY = "gw-rtt"
_NODE = 0x7FFFFFFE


def broker_round_trips(broker: RunningBroker, ward: str, n: int) -> list[float]:
    """``n`` sequential round trips through ``broker``, in milliseconds."""
    up, down = topics.uplink(ward, _GATEWAY, "sos"), topics.downlink(ward, _GATEWAY, _NODE)
    answers: queue.Queue[bytes] = queue.Queue()
    questions: queue.Queue[bytes | None] = queue.Queue()
    pinger = _subscribed(broker.add_gateway(ward, _GATEWAY), "rtt-pinger", down, answers.put)
    echo = _subscribed(broker.endpoint_for_central(), "rtt-echo", up, questions.put)
    replier = threading.Thread(target=_reply, args=(echo, questions, down), name="rtt-echo")
    replier.start()
    out = []
    try:
        for i in range(n + 5):  # the first few warm up TLS buffers and paho's threads
            payload = i.to_bytes(4, "big")
            t0 = time.perf_counter()
            pinger.publish(up, payload, qos=1)
            if answers.get(timeout=10) != payload:
                raise RuntimeError("broker round trip: an answer out of order")
            if i >= 5:
                out.append((time.perf_counter() - t0) * 1000)
    finally:
        questions.put(None)
        replier.join()
        for client in (pinger, echo):
            client.disconnect()
            client.loop_stop()
    return out


def _reply(echo: mqtt.Client, questions: "queue.Queue[bytes | None]", topic: str) -> None:
    while (payload := questions.get()) is not None:
        echo.publish(topic, payload, qos=1)


def _subscribed(endpoint: MqttEndpoint, client_id: str, topic: str, deliver: Callable[[bytes], None]) -> mqtt.Client:
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id)
    endpoint.configure(client)
    ready = threading.Event()
    client.on_connect = lambda c, *_: c.subscribe(topic, qos=1)
    client.on_subscribe = lambda *_: ready.set()
    client.on_message = lambda _c, _u, msg: deliver(bytes(msg.payload))  # only enqueues
    client.connect(endpoint.host, endpoint.port)
    client.loop_start()
    if not ready.wait(20):
        raise TimeoutError(f"broker round trip: {client_id} could not subscribe to {topic}; see the broker's log")
    return client
