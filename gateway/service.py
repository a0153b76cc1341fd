"""The ward gateway: radio -> verify -> durable outbox -> MQTT (QoS 1) -> central, and downlinks back.

One worker thread owns the outbox and does all the work; the radio and paho callbacks only enqueue
events, so neither blocks on SQLite nor calls back into its own client.
"""

import json
import logging
import sqlite3
import threading
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TypeVar

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from pydantic import BaseModel, ValidationError

from gateway.config import GatewaySettings as GatewaySettings  # re-exported: its home until settings moved
from gateway.directory import DirectoryCache
from gateway.outbox import PRIORITY_EMERGENCY, InboundFrame, Outbox, is_disk_full
from gateway.outbox_flusher import OutboxFlusher
from gateway.publisher import UplinkPublisher
from gateway.radio.base import RadioLink, RadioPacket
from gateway.radio.transmit_queue import TransmitQueue
from gateway.radio_intake import RadioIntake
from gateway.replay_guard import ReplayGuard
from gateway.status_report import StatusReport
from gateway.verifier import FrameVerifier
from gateway.ward_cases import WardCaseBook
from gateway.ward_mode import WardMode
from gateway.worker_events import Durable, Event, Link, Mqtt, Text, WorkerQueue, urgent_first
from protocol import topics
from protocol.envelopes import MESH_TEXT_MAX, AppAck, Downlink, GatewayStatus, TextDownlink
from protocol.frames import Frame
from protocol.gc_pauses import freeze_startup_objects
from protocol.mqtt_endpoint import MqttEndpoint, release
from protocol.registry import NodeRegistry

log = logging.getLogger(__name__)


_M = TypeVar("_M", bound=BaseModel)
# Events handled between two looks at the queue for an SOS: ~100 readings verified and stored (no
# fsync: the flusher syncs telemetry) take about a millisecond.
_SLICE = 100


class GatewayService:
    """A running ward gateway."""

    def __init__(self, settings: GatewaySettings, radio: RadioLink, registry: NodeRegistry) -> None:
        self.settings = settings
        self._radio = radio
        self._tx = TransmitQueue(radio, name=f"radio-tx-{settings.gateway_id}")  # the worker never waits on the radio
        self._verifier = FrameVerifier(registry)
        self._events = WorkerQueue()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._outbox = Outbox(settings.outbox_path, settings.outbox_capacity, lazy_sync=True)
        self._flusher = OutboxFlusher(self._outbox, lambda: self._events.put(Durable()),
                                      name=f"outbox-flusher-{settings.gateway_id}")
        self._guard = ReplayGuard(self._outbox.seen())
        self._connected = False
        self._status = StatusReport(settings.ward, settings.gateway_id, settings.status_interval_s, self._outbox.count,
                                    self._outbox_set_aside, lambda: self._radio.state)
        # Fails at construction, not in paho's thread, when unusable. The primary broker, then failovers.
        self._brokers = settings.broker_failover_chain()
        self._broker_refused = self._broker_unreachable = 0  # written only on paho's network thread
        self.rejected: Counter[str] = Counter()
        self.counts: Counter[str] = Counter()
        self._intake = RadioIntake(self._verifier, self._guard, self._transmit, self.counts, self._reject)
        self._client = self._make_client()
        s = settings
        self._publisher = UplinkPublisher(self._client, self._outbox, s.ward, s.gateway_id, s.window, s.batch_max,
                                          s.retry_s)
        directory = DirectoryCache(s.outbox_path.with_name(s.outbox_path.stem + "-directory.json"), s.ward)
        self.ward = WardMode(self._tx, registry, WardCaseBook(self._outbox, s.gateway_id, s.ward), directory,
                             s.autonomy_after_s)
        self.ward.restore(self._outbox.pending(PRIORITY_EMERGENCY, 0, 1_000_000))

    @property
    def _endpoint(self) -> MqttEndpoint:
        """The broker dialled now (moves along ``broker_failover`` when one is unreachable)."""
        return self._brokers.current

    def _make_client(self) -> mqtt.Client:
        s = self.settings
        client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=s.gateway_id, clean_session=False)
        self._endpoint.configure(client)
        client.max_inflight_messages_set(s.window)
        client.max_queued_messages_set(0)
        client.reconnect_delay_set(min_delay=1, max_delay=30)
        will = GatewayStatus(gateway=s.gateway_id, ward=s.ward, online=False).model_dump_json()
        client.will_set(topics.status(s.ward, s.gateway_id), will, qos=1, retain=True)
        client.on_connect = self._on_connect
        client.on_connect_fail = self._on_connect_fail
        client.on_disconnect = lambda *_: self._events.put(Link(False))
        client.on_message = lambda _c, _u, msg: self._events.put(Mqtt(msg.topic, bytes(msg.payload)))
        return client

    # --- lifecycle -------------------------------------------------------------------------------

    def start(self) -> None:
        """Connect to the broker, start the worker, start listening to the radio."""
        self._flusher.start()
        self._thread = threading.Thread(target=self._run, name=f"gateway-{self.settings.gateway_id}", daemon=True)
        self._thread.start()
        self._client.connect_async(self._endpoint.host, self._endpoint.port, keepalive=self.settings.mqtt_keepalive_s())
        self._client.loop_start()
        self._radio.set_text_handler(lambda heard: self._events.put(Text(heard)))
        self._radio.start(self._events.put)

    def stop(self) -> None:
        """Stop radio, MQTT and worker; the outbox keeps whatever is unacknowledged."""
        self._tx.close()  # the writer, then the radio itself
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        release(self._client)
        self._flusher.close()
        self._outbox.close()

    def stats(self) -> dict[str, object]:
        """Counters for status lines and tests."""
        rejected = self.rejected + self.ward.rejected + self._radio_rejected()
        return {
            **self.counts,
            **self.ward.counts,
            **self._tx.counts(),
            "published": self._publisher.published,
            "window": self._publisher.window,
            "resent": self._publisher.congestion.resent,
            "connected": self._connected,
            "broker_refused": self._broker_refused,
            "broker_unreachable": self._broker_unreachable,
            "broker_switches": self._brokers.switches,
            "broker": self._endpoint.describe(),
            "radio": self._radio.state,
            "outbox_pending": self._outbox.count(),
            "in_flight": self._publisher.in_flight,
            "thinned": self._outbox.thinned,
            "outbox_set_aside": self._outbox_set_aside(),
            "rejected": sum(rejected.values()),
            "rejected_by_reason": dict(rejected),
        }

    def _outbox_set_aside(self) -> str | None:
        set_aside = self._outbox.set_aside
        return None if set_aside is None else set_aside.describe()

    def _radio_rejected(self) -> Counter[str]:
        # Links that parse a transport of their own (Meshtastic MQTT) refuse some input themselves.
        rejected = getattr(self._radio, "rejected", None)
        return rejected if isinstance(rejected, Counter) else Counter()

    def _fresh_client(self) -> None:
        """Drop paho's own queue with the dead connection. paho would resend it first on reconnect,
        in the order it was published (telemetry ahead of a later SOS); the outbox is the truth, and
        the drain that restarts from it puts every SOS first. The broker keeps our session."""
        old = self._client
        old.loop_stop()
        old._reset_sockets()
        self._client = self._make_client()
        self._publisher.use(self._client)
        self._client.connect_async(self._endpoint.host, self._endpoint.port, keepalive=self.settings.mqtt_keepalive_s())
        self._client.loop_start()

    def _on_connect(self, client: mqtt.Client, _u: object, _f: object, reason: object, _p: object) -> None:
        if getattr(reason, "is_failure", False):
            # paho retries with backoff; each refusal is counted and said, never retried in silence.
            self._broker_refused += 1
            log.error("gateway %s: broker %s refused us (%s): check mqtt_username and the password file "
                      "against `floodmesh broker add-gateway` for this gateway", self.settings.gateway_id,
                      self._endpoint.describe(), reason)
            return
        s = self.settings
        client.subscribe([(topics.downlink_filter(s.ward, s.gateway_id), 1), (topics.app_ack(s.ward, s.gateway_id), 1),
                          (topics.directory(s.ward), 1), (topics.alerts(s.ward), 1)])
        self._events.put(Link(True))

    def _on_connect_fail(self, client: mqtt.Client, _u: object) -> None:
        self._broker_unreachable += 1
        if self._broker_unreachable == 1 or self._broker_unreachable % 100 == 0:  # an outage is not a log flood
            log.warning("gateway %s: cannot reach %s (%d attempts): check the backhaul and that the broker runs; "
                        "with TLS, that mqtt_ca_file is the broker's CA and its certificate names this host",
                        self.settings.gateway_id, self._endpoint.describe(), self._broker_unreachable)
        if self._brokers.has_alternatives:
            # paho's own retry (with its backoff) dials whatever host is set when it wakes up: pointing it at
            # the next broker is an attribute change, not a call into the network loop. paho's public
            # host/port setters refuse while its state says "connecting", which is exactly now, hence the
            # private attributes (paho is pinned < 3; tests/gateway/test_broker_failover.py proves it).
            nxt = self._brokers.advance()
            client._host, client._port = nxt.host, nxt.port
            log.warning("gateway %s: failing over to %s", self.settings.gateway_id, nxt.describe())

    # --- worker ----------------------------------------------------------------------------------

    def _run(self) -> None:
        last_retry_check = time.monotonic()
        while not self._stop.is_set():
            try:
                self._handle(self._events.take(timeout_s=0.05))
            except sqlite3.OperationalError as exc:
                if not is_disk_full(exc):
                    raise
                # An ack or a ward case that could not be written: it stays undone and is redone
                # (central resends, the outbox resends); the worker itself must not die of it.
                self.rejected["outbox_disk_full"] += 1
                log.error("gateway %s: the outbox's disk is full (%s); free space there", self.settings.gateway_id, exc)
            now = time.monotonic()
            if now - last_retry_check >= 1.0:
                last_retry_check = now
                if self._publisher.expire():
                    log.info("gateway %s: central slow to acknowledge: resending what expired, window %d",
                             self.settings.gateway_id, self._publisher.window)
            self.ward.tick(self._connected)
            if self._connected:
                self._publisher.pump()
                self._status_if_due(now)

    def _handle(self, events: list[Event]) -> None:
        # Under load a batch holds hundreds of readings: the SOS among them and the ACKs central sends
        # back are handled first (stored in a transaction of their own and published, or put on the
        # radio). The rest goes in slices, and what arrived meanwhile is looked at between two
        # slices: an SOS heard while readings are being stored waits for one slice, not for them all.
        urgent, rest = urgent_first(events)
        while urgent or rest:
            if urgent:
                self._handle_in_order(urgent)
                if self._connected:
                    self._publisher.pump()
            self._handle_in_order(rest[:_SLICE])
            rest = rest[_SLICE:]
            urgent = self._events.urgent_arrivals() if rest else []

    def _handle_in_order(self, events: list[Event]) -> None:
        inbound: list[tuple[InboundFrame, Frame]] = []
        for ev in events:
            if isinstance(ev, RadioPacket):
                verified = self._intake.take(ev)
                if verified is not None:
                    inbound.append(verified)
            elif isinstance(ev, Mqtt):
                self._from_central_surviving_full_disk(ev)
            elif isinstance(ev, Text):
                self.ward.on_text(ev.heard)
            elif isinstance(ev, Link):
                self._link_changed(ev.connected)
            # Durable: only wakes the worker, whose pump then publishes what became durable
        if inbound:
            stored, refused = self._outbox.add_making_room([f for f, _ in inbound], self._guard.newest())
            self.counts["stored"] += len(stored)
            if refused:
                self._refuse_for_disk(refused, len(stored))
            kept = [(f, frame) for f, frame in inbound if f not in refused]
            for msg, (_f, frame) in zip(stored, kept, strict=True):
                if msg.kind == "sos":
                    self.ward.sos_stored(msg, frame)

    def _refuse_for_disk(self, refused: list[InboundFrame], stored: int) -> None:
        # Never acknowledged to anyone: a refused SOS is retried by its button, a refused reading is gone.
        self.rejected["outbox_disk_full"] += len(refused)
        log.error("gateway %s: the outbox's disk is full (%s): refused %d frame(s) (%d SOS), stored %d; free space "
                  "there: storing resumes by itself", self.settings.gateway_id, self.settings.outbox_path,
                  len(refused), sum(f.kind == "sos" for f in refused), stored)

    def _from_central_surviving_full_disk(self, ev: "Mqtt") -> None:
        # An ack or downlink that cannot be written down now is redone later (central resends it); the
        # radio frames taken in the same batch must still be stored.
        try:
            self._from_central(ev.topic, ev.payload)
        except sqlite3.OperationalError as exc:
            if not is_disk_full(exc):
                raise
            self.rejected["outbox_disk_full"] += 1
            log.error("gateway %s: the outbox's disk is full (%s) handling %s; free space there",
                      self.settings.gateway_id, exc, ev.topic)

    def _reject(self, reason: str, detail: str) -> None:
        self.rejected[reason] += 1
        log.warning("gateway %s refused %s: %s", self.settings.gateway_id, reason, detail)

    # --- from central ----------------------------------------------------------------------------

    def _from_central(self, topic: str, payload: bytes) -> None:
        s = self.settings
        try:
            where = topics.parse(topic)
        except topics.TopicError:
            where = None
        if where is None or where.ward != s.ward or where.gateway not in ("", s.gateway_id) or \
                where.direction in ("up", "status"):
            # Not for this gateway: a broker delivered what was never subscribed (amqtt does so with
            # retained messages, this gateway's own retained status and last will among them). Ignored,
            # and counted apart from refusals of bad input.
            self.counts["foreign_topics"] += 1
            log.debug("gateway %s: ignored a message on %s", s.gateway_id, topic)
            return
        if topic == topics.directory(s.ward):
            if not self.ward.directory.update(payload):
                self._reject("invalid_directory", topic)
        elif topic == topics.alerts(s.ward):
            self._broadcast_alert(payload)
        elif topic.endswith("/ack"):
            self._parsed(topic, AppAck, payload, "invalid_ack", self._forget)
        elif topic.endswith("/down/text"):
            self._parsed(topic, TextDownlink, payload, "invalid_text_downlink",
                         lambda t: self._send_text(t.node_id, t.text))
        else:
            self._parsed(topic, Downlink, payload, "invalid_downlink", self._downlink)

    def _parsed(
        self, topic: str, model: type[_M], payload: bytes, reason: str, then: Callable[[_M], None]
    ) -> None:
        try:
            message = model.model_validate_json(payload)
        except ValidationError as exc:
            self._reject(reason, f"on {topic}: {str(exc).splitlines()[0]}: {payload[:120]!r}")
            return
        then(message)

    def _forget(self, ack: AppAck) -> None:
        ids = [*ack.msg_ids, *(r.msg_id for r in ack.refused)]
        for r in ack.refused:
            log.warning("gateway %s: central refused msg %d: %s", self.settings.gateway_id, r.msg_id, r.reason)
        # The outbox first: if its disk is full, the messages stay in flight and are resent (and acked) later.
        removed = self._outbox.forget(ids)
        self._publisher.acknowledged(ids)
        self.ward.acked(ids)
        self.counts["acked"] += removed
        self.counts["refused_by_central"] += len(ack.refused)

    def _broadcast_alert(self, payload: bytes) -> None:
        try:
            text = str(json.loads(payload)["text"])
        except (ValueError, KeyError, TypeError):
            self._reject("invalid_alert", "alert without a text")
            return
        self.counts["alerts_broadcast"] += 1
        self._send_text(None, text.encode("utf-8")[:MESH_TEXT_MAX].decode("utf-8", "ignore"))

    def _downlink(self, down: Downlink) -> None:
        frame = bytes.fromhex(down.frame)
        self._intake.remember_downlink(down.node_id, frame)
        self._transmit(down.node_id, frame)
        self.ward.learn_downlink(down.node_id, frame)

    def _transmit(self, node_id: int, frame: bytes) -> None:
        self._tx.send(node_id, frame)  # counted by the queue: downlinks, downlinks_failed

    def _send_text(self, node_id: int | None, text: str) -> None:
        self._tx.send_text(node_id, text)  # counted by the queue: texts_relayed, texts_failed

    def _link_changed(self, connected: bool) -> None:
        was_connected, self._connected = self._connected, connected
        self._publisher.restart()
        if not connected and was_connected:
            # Said with the moment it was noticed: how long a dead (half-open) backhaul goes unnoticed
            # is measured from this line (simulations/faults, backhaul_blackhole).
            log.error("gateway %s: lost the broker %s at %s; storing and acting as the ward alone until it is back: "
                      "check the backhaul", self.settings.gateway_id, self._endpoint.describe(),
                      datetime.now(UTC).isoformat(timespec="milliseconds"))
            self._fresh_client()
        if connected:
            self._publish_status(time.monotonic())

    def _status_if_due(self, now: float) -> None:
        if self._status.due(now):
            self._publish_status(now)

    def _publish_status(self, now: float) -> None:
        topic, payload = self._status.message(now)
        self._client.publish(topic, payload, qos=1, retain=True)
        self.counts["status_published"] += 1


def run_gateway(settings: GatewaySettings, radio: RadioLink, registry: NodeRegistry) -> None:
    """Run a gateway until Ctrl-C (the ``floodmesh gateway`` command)."""
    service = GatewayService(settings, radio, registry)
    service.start()
    freeze_startup_objects()  # keys, directory, libraries: no full GC pass walks them again (protocol/gc_pauses.py)
    print(f"floodmesh gateway {settings.gateway_id} (ward {settings.ward}): running, Ctrl-C to stop", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        service.stop()
