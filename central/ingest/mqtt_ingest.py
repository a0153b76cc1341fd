"""MqttIngest: paho-mqtt in, an IngestWorker that processes uplinks and publishes the answers.

paho's callbacks only enqueue (never process, never publish: paho #527, #177). The UplinkQueue puts an
SOS ahead of queued telemetry; the IngestWorker (central/ingest/ingest_worker.py) has the processor
commit what it takes, and only then publishes ACKs and app acks through ``publish``.

Several central replicas share the work with an MQTT shared subscription (``shared_group``): the
broker hands each uplink to one member of ``$share/<group>/...``. Replicas then use clean sessions:
a persistent session of a dead replica would keep receiving its share of new uplinks and hold them
until it came back. With a clean session the broker forgets a dead replica at once; what it had
taken but not committed was never app-acknowledged, so the gateway sends it again after its
``retry_s`` and a live replica stores it (once: processing dedupes by (node, boot, seq)).
"""

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.reasoncodes import ReasonCode

from central.ingest.fault_hook import CrashAt
from central.ingest.ingest_worker import IngestWorker
from central.ingest.processor import UplinkProcessor
from central.ingest.uplink_queue import UplinkQueue
from protocol import topics
from protocol.mqtt_endpoint import MqttEndpoint

log = logging.getLogger(__name__)

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
    urgent_batches: int = 0  # batches of SOS, cancels and case histories taken ahead of telemetry


class MqttIngest:
    """Subscribes to every gateway's uplinks (QoS 1, persistent session) and status, and answers the uplinks."""

    def __init__(
        self,
        processor: UplinkProcessor,
        endpoint: MqttEndpoint,
        client_id: str = "central",
        batch_max: int = 500,
        batch_wait_s: float = 0.02,
        announce: Callable[[], Sequence[tuple[str, str, bool]]] | None = None,
        shared_group: str | None = None,
        subscribe_uplinks: bool = True,
        fault_hook: CrashAt | None = None,
    ) -> None:
        self._endpoint = endpoint
        uplinks = topics.UPLINK_FILTER
        self._filter = uplinks if shared_group is None else topics.shared(shared_group, uplinks)
        # False when the uplinks come from elsewhere (a JetStream work queue: central/ingest/jetstream_uplinks.py)
        # and MQTT only carries central's answers.
        self._subscribe_uplinks = subscribe_uplinks
        self._uplinks = UplinkQueue(batch_max, BATCH_MAX_BYTES, batch_wait_s)
        self._stop = threading.Event()
        self._subscribed = threading.Event()
        self._worker = IngestWorker(processor, self._uplinks, self.publish, announce, fault_hook)
        self._received = self._published = 0
        self._refused = self._unreachable = 0  # written only on paho's network thread
        self._client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id,
                                   clean_session=shared_group is not None or not subscribe_uplinks)
        endpoint.configure(self._client)
        self._client.reconnect_delay_set(min_delay=1, max_delay=10)
        self._client.on_connect = self._on_connect
        self._client.on_connect_fail = self._on_connect_fail
        self._client.on_disconnect = self._on_disconnect
        self._client.on_message = self._on_message
        self._client.on_subscribe = self._on_subscribe

    def start(self) -> None:
        """Connect in the background (paho retries until the broker is there) and start the worker."""
        self._worker.start()
        self._client.connect_async(self._endpoint.host, self._endpoint.port, keepalive=30)
        self._client.loop_start()

    def stop(self, timeout_s: float = 5.0) -> None:
        """Finish the batch in hand, then disconnect (uplinks still queued are unacknowledged: gateways resend)."""
        self._stop.set()
        self._worker.stop(timeout_s)
        self._client.disconnect()
        self._client.loop_stop()

    @property
    def connected(self) -> bool:
        """Whether the MQTT session is up right now."""
        return self._client.is_connected()

    def wait_subscribed(self, timeout_s: float) -> bool:
        """Block until the broker has granted the uplink and status subscriptions (SUBACK); False on timeout."""
        return self._subscribed.wait(timeout_s)

    def status(self) -> IngestStatus:
        """Connection state and counts."""
        w = self._worker
        return IngestStatus(self.connected, self._received, w.batches, self._published, w.failed_batches,
                            self._refused, self._unreachable, w.urgent_batches)

    # paho callbacks: run on paho's network thread, so they only record and enqueue.

    def _on_connect(self, client: mqtt.Client, _u: Any, _f: Any, reason: ReasonCode, _p: Any) -> None:
        if reason.is_failure:
            # paho retries with backoff; each refusal is counted (ingest status) and said, never silent.
            self._refused += 1
            log.error("broker %s refused central (%s): check mqtt_username and mqtt_password_file against "
                      "`floodmesh broker init`'s secrets/central.password", self._endpoint.describe(), reason)
            return
        log.info("connected to broker %s", self._endpoint.describe())
        self._subscribed.clear()  # set again by this connection's SUBACK
        # Gateways' retained status on a plain subscription, never through $share: it is state every replica
        # shows. Subscribing again on every connect is harmless with a persistent session and needed without one.
        wanted = [(topics.STATUS_FILTER, 1)]
        if self._subscribe_uplinks:
            wanted.insert(0, (self._filter, 1))
        client.subscribe(wanted)
        self._worker.announce_soon()

    def _on_disconnect(self, _c: mqtt.Client, _u: Any, _f: Any, reason: ReasonCode, _p: Any) -> None:
        if not self._stop.is_set():
            log.warning("lost broker %s (%s); paho reconnects", self._endpoint.describe(), reason)

    def _on_connect_fail(self, _c: mqtt.Client, _u: Any) -> None:
        self._unreachable += 1
        if self._unreachable == 1 or self._unreachable % 100 == 0:  # an outage is not a log flood
            log.warning("cannot reach broker %s (%d attempts): check that it runs; with TLS, that mqtt_ca_file "
                        "is the broker's CA and its certificate names this host", self._endpoint.describe(),
                        self._unreachable)

    def _on_subscribe(self, _c: mqtt.Client, _u: Any, _mid: int, reasons: list[ReasonCode], _p: Any) -> None:
        if any(reason.is_failure for reason in reasons):
            log.warning("broker %s refused central's subscription to %s and %s: %s; check the broker's ACL for "
                        "central's identity", self._endpoint.describe(), self._filter, topics.STATUS_FILTER, reasons)
            return
        self._subscribed.set()

    def _on_message(self, _c: mqtt.Client, _u: Any, msg: mqtt.MQTTMessage) -> None:
        self.accept(msg.topic, bytes(msg.payload))

    def accept(self, topic: str, payload: bytes) -> None:
        """Queue one uplink for the worker (from paho's thread, or another uplink source's)."""
        self._received += 1
        self._uplinks.put(topic, payload)

    def publish(self, messages: Sequence[tuple[str, str, bool]]) -> None:
        """Publish (topic, payload, retain) at QoS 1 (paho's publish is safe from any thread)."""
        for topic, payload, retain in messages:
            info = self._client.publish(topic, payload, qos=1, retain=retain)
            if info.rc not in (mqtt.MQTT_ERR_SUCCESS, mqtt.MQTT_ERR_NO_CONN):
                log.warning("publish to %s failed: rc %s", topic, info.rc)
            self._published += 1
