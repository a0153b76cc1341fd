"""Publishing the outbox to central: SOS first, in batches while draining, a bounded window in flight."""

import json
import time
from datetime import datetime

import paho.mqtt.client as mqtt

from gateway.outbox import CASE_EVENTS, PRIORITY_EMERGENCY, PRIORITY_TELEMETRY, Outbox, OutboxMessage
from protocol import topics
from protocol.envelopes import CaseEvent, CaseEvents, Uplink, UplinkBatch, UplinkItem


class UplinkPublisher:
    """Keeps at most ``window`` messages unacknowledged; republishes what central never confirmed."""

    def __init__(
        self, client: mqtt.Client, outbox: Outbox, ward: str, gateway_id: str, window: int, batch_max: int,
        retry_s: float,
    ) -> None:
        self._client = client
        self._outbox = outbox
        self._ward = ward
        self._gateway_id = gateway_id
        self._window = window
        self._batch_max = batch_max
        self._retry_s = retry_s
        self._inflight: dict[int, float] = {}
        self._cursor = {PRIORITY_EMERGENCY: 0, PRIORITY_TELEMETRY: 0}
        self.published = 0

    def use(self, client: mqtt.Client) -> None:
        """Publish through a new client from now on (the old one died with its connection)."""
        self._client = client

    @property
    def in_flight(self) -> int:
        """Messages published and not yet acknowledged."""
        return len(self._inflight)

    def restart(self) -> None:
        """Publish everything unacknowledged again (a new connection, or central silent too long).
        Central dedupes on each frame's identity, so a repeat is harmless; a loss is not."""
        self._inflight.clear()
        self._cursor = {PRIORITY_EMERGENCY: 0, PRIORITY_TELEMETRY: 0}

    def expire(self, now: float) -> bool:
        """Restart the drain if anything waited longer than ``retry_s``; True if it did."""
        if any(now - sent > self._retry_s for sent in self._inflight.values()):
            self.restart()
            return True
        return False

    def acknowledged(self, msg_ids: list[int]) -> None:
        """These no longer count against the window."""
        for msg_id in msg_ids:
            self._inflight.pop(msg_id, None)

    def pump(self) -> None:
        """Publish stored messages, SOS and case history first."""
        for priority in (PRIORITY_EMERGENCY, PRIORITY_TELEMETRY):
            room = self._window - len(self._inflight)
            if room <= 0:
                return
            pending = self._outbox.pending(priority, self._cursor[priority], room)
            if not pending:
                continue
            self._cursor[priority] = pending[-1].msg_id
            if priority == PRIORITY_EMERGENCY or len(pending) == 1:
                # Emergencies go one by one, in the order they happened (an SOS before the case
                # events that answer it), each on its own topic; so does a lone reading.
                for msg in pending:
                    if msg.kind == CASE_EVENTS:
                        self._publish_history(msg)
                    else:
                        self._publish(msg)
            else:
                for start in range(0, len(pending), self._batch_max):
                    self._publish_batch(pending[start : start + self._batch_max])

    def _sent(self, msgs: list[OutboxMessage]) -> None:
        now = time.monotonic()
        for m in msgs:
            self._inflight[m.msg_id] = now
        self.published += len(msgs)

    def _publish(self, msg: OutboxMessage) -> None:
        envelope = Uplink.model_construct(
            v=1, msg_id=msg.msg_id, gateway=self._gateway_id, ward=self._ward,
            received_at=datetime.fromisoformat(msg.received_at), rssi=msg.rssi, snr=msg.snr, frame=msg.frame.hex(),
        )
        self._client.publish(topics.uplink(self._ward, self._gateway_id, msg.kind), envelope.model_dump_json(), qos=1)
        self._sent([msg])

    def _publish_batch(self, msgs: list[OutboxMessage]) -> None:
        items = [
            UplinkItem.model_construct(msg_id=m.msg_id, received_at=datetime.fromisoformat(m.received_at),
                                       rssi=m.rssi, snr=m.snr, frame=m.frame.hex())
            for m in msgs
        ]
        envelope = UplinkBatch.model_construct(v=1, gateway=self._gateway_id, ward=self._ward, items=items)
        self._client.publish(topics.uplink(self._ward, self._gateway_id, "batch"), envelope.model_dump_json(), qos=1)
        self._sent(msgs)

    def _publish_history(self, msg: OutboxMessage) -> None:
        events = [CaseEvent.model_validate(e) for e in json.loads(msg.frame)]
        envelope = CaseEvents(msg_id=msg.msg_id, gateway=self._gateway_id, ward=self._ward, events=events)
        self._client.publish(topics.uplink(self._ward, self._gateway_id, CASE_EVENTS), envelope.model_dump_json(),
                             qos=1)
        self._sent([msg])
