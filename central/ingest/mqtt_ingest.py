"""MqttIngest: paho-mqtt in, a worker thread that processes batches and publishes the answers.

paho's callbacks only enqueue (never process, never publish: paho #527, #177); the worker drains the
queue in batches, has the processor commit each batch, and only then publishes ACKs and app acks.
"""

import logging
import queue
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.reasoncodes import ReasonCode

from central.ingest.processor import BatchResult, UplinkProcessor
from protocol import topics
from protocol.mqtt_endpoint import MqttEndpoint

log = logging.getLogger(__name__)

_STOP = ("", b"")  # sentinel: wakes the worker at shutdown
BATCH_MAX_BYTES = 256_000  # about 1,500 frames of a draining outbox per transaction


@dataclass(frozen=True)
class IngestStatus:
    """Connection state and running totals of the ingest."""

    connected: bool
    received: int
    batches: int
    published: int
    failed_batches: int
    broker_refused: int  # CONNACKs that said no (bad credentials, not authorised)
    broker_unreachable: int  # connection attempts that failed before a CONNACK (down, TLS handshake)


class MqttIngest:
    """Subscribes to every gateway's uplinks (QoS 1, persistent session) and answers them."""

    def __init__(
        self,
        processor: UplinkProcessor,
        endpoint: MqttEndpoint,
        client_id: str = "central",
        batch_max: int = 500,
        batch_wait_s: float = 0.02,
        announce: Callable[[], Sequence[tuple[str, str, bool]]] | None = None,
    ) -> None:
        self._processor = processor
        self._endpoint = endpoint
        self._batch_max, self._batch_wait_s = batch_max, batch_wait_s
        self._queue: queue.Queue[tuple[str, bytes]] = queue.Queue()
        self._stop = threading.Event()
        self._announce = announce
        self._connected_anew = threading.Event()  # set by on_connect; the worker then publishes ``announce()``
        self._worker = threading.Thread(target=self._drain, name="central-ingest", daemon=True)
        self._received = self._batches = self._published = self._failed = 0
        self._refused = self._unreachable = 0  # written only on paho's network thread
        self._client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=False)
        endpoint.configure(self._client)
        self._client.reconnect_delay_set(min_delay=1, max_delay=10)
        self._client.on_connect = self._on_connect
        self._client.on_connect_fail = self._on_connect_fail
        self._client.on_disconnect = self._on_disconnect
        self._client.on_message = self._on_message

    def start(self) -> None:
        """Connect in the background (paho retries until the broker is there) and start the worker."""
        self._worker.start()
        self._client.connect_async(self._endpoint.host, self._endpoint.port, keepalive=30)
        self._client.loop_start()

    def stop(self, timeout_s: float = 5.0) -> None:
        """Finish the batch in hand, then disconnect."""
        self._stop.set()
        self._queue.put(_STOP)
        if self._worker.is_alive():
            self._worker.join(timeout_s)
        self._client.disconnect()
        self._client.loop_stop()

    @property
    def connected(self) -> bool:
        """Whether the MQTT session is up right now."""
        return self._client.is_connected()

    def status(self) -> IngestStatus:
        """Connection state and counts."""
        return IngestStatus(self.connected, self._received, self._batches, self._published, self._failed,
                            self._refused, self._unreachable)

    # paho callbacks: run on paho's network thread, so they only record and enqueue.

    def _on_connect(self, client: mqtt.Client, _u: Any, _f: Any, reason: ReasonCode, _p: Any) -> None:
        if reason.is_failure:
            # paho retries with backoff; each refusal is counted (ingest status) and said, never silent.
            self._refused += 1
            log.error("broker %s refused central (%s): check mqtt_username and mqtt_password_file against "
                      "`floodmesh broker init`'s secrets/central.password", self._endpoint.describe(), reason)
            return
        log.info("connected to broker %s", self._endpoint.describe())
        # Subscribing again on every connect is harmless with a persistent session and needed without one.
        client.subscribe(topics.UPLINK_FILTER, qos=1)
        self._connected_anew.set()

    def _on_disconnect(self, _c: mqtt.Client, _u: Any, _f: Any, reason: ReasonCode, _p: Any) -> None:
        if not self._stop.is_set():
            log.warning("lost broker %s (%s); paho reconnects", self._endpoint.describe(), reason)

    def _on_connect_fail(self, _c: mqtt.Client, _u: Any) -> None:
        self._unreachable += 1
        if self._unreachable == 1 or self._unreachable % 100 == 0:  # an outage is not a log flood
            log.warning("cannot reach broker %s (%d attempts): check that it runs; with TLS, that mqtt_ca_file "
                        "is the broker's CA and its certificate names this host", self._endpoint.describe(),
                        self._unreachable)

    def _on_message(self, _c: mqtt.Client, _u: Any, msg: mqtt.MQTTMessage) -> None:
        self._received += 1
        self._queue.put((msg.topic, bytes(msg.payload)))

    # the worker thread

    def _next_batch(self) -> list[tuple[str, bytes]]:
        try:
            first = self._queue.get(timeout=0.5)
        except queue.Empty:
            return []
        batch = [first]
        size = len(first[1]) if first is not _STOP else 0
        deadline = time.monotonic() + self._batch_wait_s
        # Bounded in messages and in bytes: a gateway draining its outbox sends hundreds of frames per
        # message, and one huge transaction would hold every acknowledgement back until its end,
        # leaving the gateway's window full and idle while central works.
        while len(batch) < self._batch_max and size < BATCH_MAX_BYTES:
            remaining = deadline - time.monotonic()
            try:
                item = self._queue.get(timeout=remaining) if remaining > 0 else self._queue.get_nowait()
            except queue.Empty:
                break
            batch.append(item)
            if item is not _STOP:
                size += len(item[1])
        return [item for item in batch if item is not _STOP]

    def publish(self, messages: Sequence[tuple[str, str, bool]]) -> None:
        """Publish (topic, payload, retain) at QoS 1 (paho's publish is safe from any thread)."""
        for topic, payload, retain in messages:
            info = self._client.publish(topic, payload, qos=1, retain=retain)
            if info.rc not in (mqtt.MQTT_ERR_SUCCESS, mqtt.MQTT_ERR_NO_CONN):
                log.warning("publish to %s failed: rc %s", topic, info.rc)
            self._published += 1

    def _drain(self) -> None:
        while not self._stop.is_set() or not self._queue.empty():
            if self._connected_anew.is_set() and self._announce is not None:
                # Retained state (ward directories) again on every connect: the broker may have lost it.
                self._connected_anew.clear()
                self.publish(self._announce())
            batch = self._next_batch()
            if not batch:
                continue
            try:
                result = self._processor.process_batch(batch)
            except Exception:
                # Nothing was committed, nothing is acknowledged: the gateways' outboxes will resend.
                self._failed += 1
                log.exception("batch of %d uplinks failed", len(batch))
                continue
            self._batches += 1
            self._publish(result)

    def _publish(self, result: BatchResult) -> None:
        # ACKs first: the button is waiting; the app ack only lets the gateway forget the uplink.
        # Flood alerts go to each affected ward's alerts topic, for its gateway to broadcast on the mesh.
        outgoing = [*result.downlinks, *result.app_acks, *result.alerts, *result.texts]
        self.publish([(out.topic, out.payload, out.retain) for out in outgoing])
