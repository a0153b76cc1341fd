"""The ward gateway: radio -> verify -> durable outbox -> MQTT (QoS 1) -> central, and downlinks back.

One worker thread owns the outbox and does all the work; the radio and paho callbacks only enqueue
events, so neither blocks on SQLite nor calls back into its own client.
"""

import logging
import queue
import threading
import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from pydantic import ValidationError

from gateway.outbox import PRIORITY_EMERGENCY, PRIORITY_TELEMETRY, InboundFrame, Outbox, OutboxMessage
from gateway.radio.base import RadioLink, RadioPacket
from gateway.replay_guard import ReplayGuard
from gateway.verifier import FrameVerifier
from protocol import topics
from protocol.envelopes import AppAck, Downlink, GatewayStatus, Uplink, UplinkBatch, UplinkItem
from protocol.frames import Frame, FrameError
from protocol.registry import NodeRegistry

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class GatewaySettings:
    """Where a gateway sits and how it reaches central."""

    ward: str
    gateway_id: str
    outbox_path: Path
    broker_host: str = "127.0.0.1"
    broker_port: int = 1883
    # Bounded in-flight window: paho loses QoS 1 messages past 65,535 in flight.
    window: int = 8000
    # Unacknowledged this long (central down, a broker that lost them) -> publish again.
    retry_s: float = 20.0
    # Past this many stored messages, telemetry is thinned (an SOS is never dropped).
    outbox_capacity: int = 2_000_000
    # Frames per MQTT message while draining a backlog (a lone frame is always sent on its own).
    batch_max: int = 200


@dataclass(frozen=True)
class _Acked:
    ack: AppAck


@dataclass(frozen=True)
class _Down:
    payload: bytes


@dataclass(frozen=True)
class _Link:
    connected: bool


_Event = RadioPacket | _Acked | _Down | _Link


class GatewayService:
    """A running ward gateway."""

    def __init__(self, settings: GatewaySettings, radio: RadioLink, registry: NodeRegistry) -> None:
        self.settings = settings
        self._radio = radio
        self._verifier = FrameVerifier(registry)
        self._events: queue.Queue[_Event] = queue.Queue()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._outbox = Outbox(settings.outbox_path, settings.outbox_capacity)
        self._guard = ReplayGuard(self._outbox.seen())
        self._last_downlink: dict[int, bytes] = {}
        self._inflight: dict[int, float] = {}
        self._cursor = {PRIORITY_EMERGENCY: 0, PRIORITY_TELEMETRY: 0}
        self._connected = False
        self.rejected: Counter[str] = Counter()
        self.counts: Counter[str] = Counter()
        self._outbox_pending = 0
        self._client = self._make_client()

    def _make_client(self) -> mqtt.Client:
        s = self.settings
        client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=s.gateway_id, clean_session=False)
        client.max_inflight_messages_set(s.window)
        client.max_queued_messages_set(0)
        client.reconnect_delay_set(min_delay=1, max_delay=30)
        will = GatewayStatus(gateway=s.gateway_id, ward=s.ward, online=False).model_dump_json()
        client.will_set(topics.status(s.ward, s.gateway_id), will, qos=1, retain=True)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        return client

    # --- lifecycle -------------------------------------------------------------------------------

    def start(self) -> None:
        """Open the outbox, connect to the broker, start listening to the radio."""
        self._outbox_pending = self._outbox.count()
        self._thread = threading.Thread(target=self._run, name=f"gateway-{self.settings.gateway_id}", daemon=True)
        self._thread.start()
        self._client.connect_async(self.settings.broker_host, self.settings.broker_port, keepalive=30)
        self._client.loop_start()
        self._radio.start(self._events.put)

    def stop(self) -> None:
        """Stop radio, MQTT and worker; the outbox keeps whatever is unacknowledged."""
        self._radio.close()
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._client.disconnect()
        self._client.loop_stop()
        self._outbox.close()

    def stats(self) -> dict[str, object]:
        """Counters for status lines and tests."""
        return {
            **self.counts,
            "connected": self._connected,
            "radio": self._radio.state,
            "outbox_pending": self._outbox_pending,
            "in_flight": len(self._inflight),
            "thinned": self._outbox.thinned,
            "rejected": sum(self.rejected.values()) + sum(self._radio_rejected().values()),
            "rejected_by_reason": dict(self.rejected + self._radio_rejected()),
        }

    def _radio_rejected(self) -> Counter[str]:
        # Links that parse a transport of their own (Meshtastic MQTT) refuse some input themselves.
        rejected = getattr(self._radio, "rejected", None)
        return rejected if isinstance(rejected, Counter) else Counter()

    # --- paho callbacks: enqueue only ------------------------------------------------------------

    def _on_connect(self, client: mqtt.Client, _u: object, _f: object, reason: object, _p: object) -> None:
        if getattr(reason, "is_failure", False):
            log.warning("gateway %s: broker refused connection: %s", self.settings.gateway_id, reason)
            return
        s = self.settings
        client.subscribe([(topics.downlink_filter(s.ward, s.gateway_id), 1), (topics.app_ack(s.ward, s.gateway_id), 1)])
        self._events.put(_Link(True))

    def _on_disconnect(self, _c: mqtt.Client, _u: object, _f: object, reason: object, _p: object) -> None:
        log.info("gateway %s: backhaul down (%s)", self.settings.gateway_id, reason)
        self._events.put(_Link(False))

    def _on_message(self, _c: mqtt.Client, _u: object, msg: mqtt.MQTTMessage) -> None:
        if msg.topic.endswith("/ack"):
            try:
                self._events.put(_Acked(AppAck.model_validate_json(msg.payload)))
            except ValidationError as exc:
                self._reject("invalid_ack", str(exc).splitlines()[0])
        else:
            self._events.put(_Down(bytes(msg.payload)))

    # --- worker ----------------------------------------------------------------------------------

    def _run(self) -> None:
        last_retry_check = time.monotonic()
        while not self._stop.is_set():
            events = self._take_events()
            self._handle(events)
            now = time.monotonic()
            if now - last_retry_check >= 1.0:
                last_retry_check = now
                self._expire_inflight(now)
            if self._connected:
                self._pump()

    def _take_events(self) -> list[_Event]:
        try:
            events = [self._events.get(timeout=0.05)]
        except queue.Empty:
            return []
        while len(events) < 5000:
            try:
                events.append(self._events.get_nowait())
            except queue.Empty:
                break
        return events

    def _handle(self, events: list[_Event]) -> None:
        inbound: list[InboundFrame] = []
        for ev in events:
            if isinstance(ev, RadioPacket):
                frame = self._verify(ev)
                if frame is not None:
                    inbound.append(frame)
            elif isinstance(ev, _Acked):
                self._forget(ev.ack)
            elif isinstance(ev, _Down):
                self._downlink(ev.payload)
            else:
                self._link_changed(ev.connected)
        if inbound:
            self._outbox.add(inbound, self._guard.newest())
            self._outbox_pending = self._outbox.count()
            self.counts["stored"] += len(inbound)

    def _verify(self, packet: RadioPacket) -> InboundFrame | None:
        self.counts["heard"] += 1
        try:
            frame = self._verifier.verify(packet.frame)
        except FrameError as exc:
            self._reject(exc.reason, f"from radio node {packet.from_node:08x}: {exc}")
            return None
        verdict = self._guard.check(*frame.event_id)
        if verdict == "replay":
            self._reject("replay", f"{frame.kind} {frame.event_id} is older than what node {frame.node_id:08x} sent")
            return None
        if verdict == "duplicate":
            self._duplicate(frame)
            return None
        self._guard.accept(*frame.event_id)
        received_at = datetime.now(UTC).isoformat()
        return InboundFrame(frame.node_id, frame.kind, packet.frame, received_at, packet.rssi, packet.snr)

    def _duplicate(self, frame: Frame) -> None:
        """A repeat heard on the mesh or a button's retry: nothing new for central. A retrying button
        missed its answer, so it hears the last downlink again from here."""
        self.counts["duplicates"] += 1
        last = self._last_downlink.get(frame.node_id)
        if frame.kind in ("sos", "sos_cancel") and last is not None:
            self._transmit(frame.node_id, last)

    def _reject(self, reason: str, detail: str) -> None:
        self.rejected[reason] += 1
        log.warning("gateway %s refused %s: %s", self.settings.gateway_id, reason, detail)

    def _forget(self, ack: AppAck) -> None:
        ids = [*ack.msg_ids, *(r.msg_id for r in ack.refused)]
        for r in ack.refused:
            log.warning("gateway %s: central refused msg %d: %s", self.settings.gateway_id, r.msg_id, r.reason)
        for msg_id in ids:
            self._inflight.pop(msg_id, None)
        removed = self._outbox.forget(ids)
        self._outbox_pending = self._outbox.count()
        self.counts["acked"] += removed
        self.counts["refused_by_central"] += len(ack.refused)

    def _downlink(self, payload: bytes) -> None:
        try:
            down = Downlink.model_validate_json(payload)
        except ValidationError as exc:
            self._reject("invalid_downlink", str(exc).splitlines()[0])
            return
        frame = bytes.fromhex(down.frame)
        self._last_downlink[down.node_id] = frame
        self._transmit(down.node_id, frame)

    def _transmit(self, node_id: int, frame: bytes) -> None:
        try:
            self._radio.send(node_id, frame)
        except ConnectionError as exc:
            # The button retries its SOS until answered, and a retry heard here gets the last downlink
            # again (see _duplicate): a downlink lost to a radio outage is repaired then, not queued.
            self.counts["downlinks_failed"] += 1
            log.warning("gateway %s: downlink to %08x lost: %s", self.settings.gateway_id, node_id, exc)
            return
        self.counts["downlinks"] += 1

    def _link_changed(self, connected: bool) -> None:
        self._connected = connected
        # Whatever was in flight may be lost with the old connection: publish it again (central
        # dedupes on the frame's identity, so a repeat is harmless; a loss is not).
        self._restart_drain()
        if connected:
            s = self.settings
            status = GatewayStatus(gateway=s.gateway_id, ward=s.ward, online=True, outbox_pending=self._outbox_pending)
            self._client.publish(topics.status(s.ward, s.gateway_id), status.model_dump_json(), qos=1, retain=True)

    def _restart_drain(self) -> None:
        self._inflight.clear()
        self._cursor = {PRIORITY_EMERGENCY: 0, PRIORITY_TELEMETRY: 0}

    def _expire_inflight(self, now: float) -> None:
        if any(now - sent > self.settings.retry_s for sent in self._inflight.values()):
            log.info("gateway %s: unacknowledged messages, publishing again", self.settings.gateway_id)
            self._restart_drain()

    def _pump(self) -> None:
        """Publish stored messages, SOS first, keeping at most ``window`` unacknowledged."""
        for priority in (PRIORITY_EMERGENCY, PRIORITY_TELEMETRY):
            room = self.settings.window - len(self._inflight)
            if room <= 0:
                return
            pending = self._outbox.pending(priority, self._cursor[priority], room)
            if len(pending) == 1:
                self._publish(pending[0])  # a lone frame (a fresh SOS) goes at once, on its own topic
            for start in range(0, len(pending) if len(pending) > 1 else 0, self.settings.batch_max):
                self._publish_batch(pending[start : start + self.settings.batch_max])
            if pending:
                self._cursor[priority] = pending[-1].msg_id

    def _publish_batch(self, msgs: list[OutboxMessage]) -> None:
        s = self.settings
        items = [
            UplinkItem.model_construct(
                msg_id=m.msg_id, received_at=datetime.fromisoformat(m.received_at), rssi=m.rssi, snr=m.snr,
                frame=m.frame.hex(),
            )
            for m in msgs
        ]
        envelope = UplinkBatch.model_construct(v=1, gateway=s.gateway_id, ward=s.ward, items=items)
        self._client.publish(topics.uplink(s.ward, s.gateway_id, "batch"), envelope.model_dump_json(), qos=1)
        sent = time.monotonic()
        for m in msgs:
            self._inflight[m.msg_id] = sent
        self.counts["published"] += len(msgs)

    def _publish(self, msg: OutboxMessage) -> None:
        s = self.settings
        envelope = Uplink.model_construct(
            v=1,
            msg_id=msg.msg_id,
            gateway=s.gateway_id,
            ward=s.ward,
            received_at=datetime.fromisoformat(msg.received_at),
            rssi=msg.rssi,
            snr=msg.snr,
            frame=msg.frame.hex(),
        )
        self._client.publish(topics.uplink(s.ward, s.gateway_id, msg.kind), envelope.model_dump_json(), qos=1)
        self._inflight[msg.msg_id] = time.monotonic()
        self.counts["published"] += 1


def run_gateway(settings: GatewaySettings, radio: RadioLink, registry: NodeRegistry) -> None:
    """Run a gateway until Ctrl-C (the ``floodmesh gateway`` command)."""
    service = GatewayService(settings, radio, registry)
    service.start()
    print(f"floodmesh gateway {settings.gateway_id} (ward {settings.ward}): running, Ctrl-C to stop", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        service.stop()
