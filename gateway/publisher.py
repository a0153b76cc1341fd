"""Publishing the outbox to central: SOS first, in batches while draining, a window that follows central.

How much telemetry waits on central, and what is resent when, is decided by ``CongestionControl``
(gateway/congestion.py); this module turns its answers into MQTT publishes.
"""

import json
import time
from collections.abc import Callable
from datetime import datetime

import paho.mqtt.client as mqtt

from gateway.congestion import CongestionControl
from gateway.outbox import CASE_EVENTS, PRIORITY_EMERGENCY, PRIORITY_TELEMETRY, Outbox, OutboxMessage
from protocol import topics
from protocol.envelopes import CaseEvent, CaseEvents, Uplink, UplinkBatch, UplinkItem

# Telemetry MQTT messages handed to paho and not yet PUBACKed by the broker. paho sends in the order
# it was given; keeping its queue this short means an SOS waits behind a few batches at most, not
# behind a whole window's worth of bytes on a slow backhaul.
BROKER_BACKLOG_MAX = 8
# Emergencies read from the outbox per query (all of them go out; this only bounds one query).
_EMERGENCY_CHUNK = 1000


class UplinkPublisher:
    """Publishes the outbox, emergencies first, telemetry within a congestion window; resends only
    what central left unacknowledged past its deadline."""

    def __init__(
        self, client: mqtt.Client, outbox: Outbox, ward: str, gateway_id: str, window: int, batch_max: int,
        retry_s: float, clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._client = client
        self._outbox = outbox
        self._ward = ward
        self._gateway_id = gateway_id
        self._batch_max = batch_max
        # The floor is one batch: a draining gateway always has a full batch in flight. Waits past
        # half the retry time count as congestion, so the window shrinks before anything expires.
        self.congestion: CongestionControl[OutboxMessage] = CongestionControl(
            clock, ceiling=window, floor=batch_max, retry_s=retry_s, retry_max_s=8 * retry_s,
            slow_after_s=retry_s / 2,
        )
        self._cursor = {PRIORITY_EMERGENCY: 0, PRIORITY_TELEMETRY: 0}
        self._resend: list[OutboxMessage] = []
        self._at_broker: list[mqtt.MQTTMessageInfo] = []
        self.published = 0

    def use(self, client: mqtt.Client) -> None:
        """Publish through a new client from now on (the old one died with its connection)."""
        self._client = client
        self._at_broker = []

    @property
    def in_flight(self) -> int:
        """Messages published and not yet acknowledged."""
        return self.congestion.in_flight

    @property
    def window(self) -> int:
        """Telemetry messages allowed in flight now."""
        return self.congestion.window

    def restart(self) -> None:
        """Publish everything unacknowledged again, from the outbox (a new connection: the old one's
        publishes may be lost). Central dedupes on each frame's identity, so a repeat is harmless."""
        self.congestion.restart()
        self._resend = []
        self._at_broker = []
        self._cursor = {PRIORITY_EMERGENCY: 0, PRIORITY_TELEMETRY: 0}

    def expire(self) -> bool:
        """Queue for resending what waited past its deadline; True if anything did."""
        due = self.congestion.due()
        self._resend += due
        return bool(due)

    def acknowledged(self, msg_ids: list[int]) -> None:
        """These no longer count against the window."""
        self.congestion.acknowledged(msg_ids)

    def pump(self) -> None:
        """Publish: every emergency first (resent, then new), then telemetry (resent, then new) as far
        as the window and paho's queue allow."""
        self._at_broker = [info for info in self._at_broker if not info.is_published()]
        resend = [m for m in self._resend if self.congestion.is_in_flight(m.msg_id)]
        self._resend = []
        for msg in resend:
            if msg.priority == PRIORITY_EMERGENCY:
                self._publish_emergency(msg)
        self._pump_emergencies()
        self._publish_telemetry([m for m in resend if m.priority != PRIORITY_EMERGENCY], resending=True)
        room = min(self.congestion.room(), self._broker_room() * self._batch_max)
        if room > 0:
            # Only what is on disk for good is sent: an emergency always is (fsynced in its commit);
            # telemetry once the flusher has synced it.
            pending = self._outbox.pending(PRIORITY_TELEMETRY, self._cursor[PRIORITY_TELEMETRY], room,
                                           upto=self._outbox.durable_upto)
            if pending:
                self._cursor[PRIORITY_TELEMETRY] = pending[-1].msg_id
                self._publish_telemetry(pending, resending=False)

    def _pump_emergencies(self) -> None:
        # Emergencies go one by one, in the order they happened (an SOS before the case events that
        # answer it), each on its own topic, whatever the window.
        while pending := self._outbox.pending(PRIORITY_EMERGENCY, self._cursor[PRIORITY_EMERGENCY], _EMERGENCY_CHUNK):
            self._cursor[PRIORITY_EMERGENCY] = pending[-1].msg_id
            for msg in pending:
                self._publish_emergency(msg)
                self.congestion.sent(msg.msg_id, msg, emergency=True)

    def _broker_room(self) -> int:
        return max(0, BROKER_BACKLOG_MAX - len(self._at_broker))

    def _publish_telemetry(self, msgs: list[OutboxMessage], resending: bool) -> None:
        """Batches of up to ``batch_max`` (a lone reading on its own topic); a resend that paho's
        queue has no room for waits in ``_resend`` for the next pump."""
        start = 0
        while start < len(msgs):
            if resending and self._broker_room() == 0:
                self._resend += msgs[start:]
                return
            chunk = msgs[start : start + self._batch_max]
            start += len(chunk)
            info = self._publish_one(chunk[0]) if len(chunk) == 1 else self._publish_batch(chunk)
            if info.rc == mqtt.MQTT_ERR_SUCCESS:
                self._at_broker.append(info)
            if not resending:
                for m in chunk:
                    self.congestion.sent(m.msg_id, m, emergency=False)

    def _publish_emergency(self, msg: OutboxMessage) -> None:
        if msg.kind == CASE_EVENTS:
            self._publish_history(msg)
        else:
            self._publish_one(msg)

    def _publish_one(self, msg: OutboxMessage) -> mqtt.MQTTMessageInfo:
        envelope = Uplink.model_construct(
            v=1, msg_id=msg.msg_id, gateway=self._gateway_id, ward=self._ward,
            received_at=datetime.fromisoformat(msg.received_at), rssi=msg.rssi, snr=msg.snr, frame=msg.frame.hex(),
        )
        self.published += 1
        return self._client.publish(topics.uplink(self._ward, self._gateway_id, msg.kind),
                                    envelope.model_dump_json(), qos=1)

    def _publish_batch(self, msgs: list[OutboxMessage]) -> mqtt.MQTTMessageInfo:
        items = [
            UplinkItem.model_construct(msg_id=m.msg_id, received_at=datetime.fromisoformat(m.received_at),
                                       rssi=m.rssi, snr=m.snr, frame=m.frame.hex())
            for m in msgs
        ]
        envelope = UplinkBatch.model_construct(v=1, gateway=self._gateway_id, ward=self._ward, items=items)
        self.published += len(msgs)
        return self._client.publish(topics.uplink(self._ward, self._gateway_id, "batch"), envelope.model_dump_json(),
                                    qos=1)

    def _publish_history(self, msg: OutboxMessage) -> None:
        events = [CaseEvent.model_validate(e) for e in json.loads(msg.frame)]
        envelope = CaseEvents(msg_id=msg.msg_id, gateway=self._gateway_id, ward=self._ward, events=events)
        self.published += 1
        self._client.publish(topics.uplink(self._ward, self._gateway_id, CASE_EVENTS), envelope.model_dump_json(),
                             qos=1)
