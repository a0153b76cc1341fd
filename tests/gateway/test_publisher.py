"""The publisher: SOS first into paho's queue, which holds only a few telemetry batches ahead of it."""

from pathlib import Path
from typing import cast

import paho.mqtt.client as mqtt
import pytest

from gateway.outbox import InboundFrame, Outbox
from gateway.publisher import BROKER_BACKLOG_MAX, UplinkPublisher
from protocol import topics
from protocol.envelopes import Uplink, UplinkBatch

pytestmark = pytest.mark.unit

WARD, GW = "19774", "gw-19774"
AT = "2026-11-25T00:00:00+00:00"


class FakeInfo:
    """paho's MQTTMessageInfo as far as the publisher looks at it: the broker's PUBACK, by hand."""

    rc = mqtt.MQTT_ERR_SUCCESS

    def __init__(self) -> None:
        self.pubacked = False

    def is_published(self) -> bool:
        return self.pubacked


class FakeClient:
    """Records publishes in the order paho would put them on the wire, and the msg_ids in each."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, FakeInfo]] = []
        self.msg_ids: list[int] = []

    def publish(self, topic: str, payload: str, qos: int) -> FakeInfo:
        info = FakeInfo()
        self.sent.append((topic, info))
        if topic.endswith("/batch"):
            self.msg_ids += [item.msg_id for item in UplinkBatch.model_validate_json(payload).items]
        else:
            self.msg_ids.append(Uplink.model_validate_json(payload).msg_id)
        return info

    def puback_all(self) -> None:
        for _topic, info in self.sent:
            info.pubacked = True

    def in_paho(self) -> list[str]:
        """Topics handed over and not yet PUBACKed."""
        return [topic for topic, info in self.sent if not info.is_published()]


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _outbox(tmp_path: Path, readings: int) -> Outbox:
    outbox = Outbox(tmp_path / "outbox.db")
    outbox.add([InboundFrame(1, "water_level", bytes([n % 256]) * 24, AT) for n in range(readings)])
    return outbox


def _publisher(client: FakeClient, outbox: Outbox, clock: Clock) -> UplinkPublisher:
    return UplinkPublisher(cast(mqtt.Client, client), outbox, WARD, GW, window=8000, batch_max=200, retry_s=20.0,
                           clock=clock)


def _ack(publisher: UplinkPublisher, outbox: Outbox, msg_ids: list[int]) -> None:
    """What the gateway does with central's AppAck."""
    publisher.acknowledged(msg_ids)
    outbox.forget(msg_ids)


def test_an_sos_is_the_next_publish_with_20000_readings_pending_and_in_flight(tmp_path: Path) -> None:
    outbox, client, clock = _outbox(tmp_path, 20_000), FakeClient(), Clock()
    publisher = _publisher(client, outbox, clock)
    acked = 0
    while publisher.window < 8000:  # central keeps up: slow start opens the window to its ceiling
        publisher.pump()
        client.puback_all()
        _ack(publisher, outbox, client.msg_ids[acked:])
        acked = len(client.msg_ids)
        clock.now += 0.1
    assert publisher.window == 8000
    for _ in range(10):  # central falls silent: the window fills
        publisher.pump()
        client.puback_all()
    assert publisher.in_flight == 8000
    assert outbox.count() > 10_000
    _ack(publisher, outbox, client.msg_ids[acked : acked + 2000])  # central answers a few
    publisher.pump()  # the window has room: batches go to paho, which holds them until the broker PUBACKs
    assert len(client.in_paho()) == BROKER_BACKLOG_MAX
    sent_before = len(client.sent)
    outbox.add([InboundFrame(2, "sos", b"\x02" * 30, AT)])
    publisher.pump()
    assert [t for t, _i in client.sent[sent_before:]] == [topics.uplink(WARD, GW, "sos")]
    client.puback_all()
    publisher.pump()
    assert len(client.sent) > sent_before + 1  # then telemetry flows on


def test_paho_holds_at_most_a_few_telemetry_batches_and_the_sos_goes_in_ahead_of_the_rest(tmp_path: Path) -> None:
    outbox, client, clock = _outbox(tmp_path, 20_000), FakeClient(), Clock()
    publisher = _publisher(client, outbox, clock)
    for _ in range(5):
        publisher.pump()
    assert len(client.sent) == 1  # the window's one batch; nothing more while central is silent
    client.puback_all()
    ids = list(range(1, 201))
    _ack(publisher, outbox, ids)  # window 400: two batches
    publisher.pump()
    assert len(client.sent) == 3
    outbox.add([InboundFrame(2, "sos", b"\x02" * 30, AT)])
    publisher.pump()
    assert client.sent[3][0] == topics.uplink(WARD, GW, "sos")
    assert publisher.in_flight == 401


def test_only_what_expired_is_resent_and_a_reconnect_resends_everything(tmp_path: Path) -> None:
    outbox, client, clock = _outbox(tmp_path, 1000), FakeClient(), Clock()
    publisher = _publisher(client, outbox, clock)
    publisher.pump()
    client.puback_all()
    _ack(publisher, outbox, client.msg_ids[:150])  # 50 of the first batch stay unacknowledged
    clock.now += 10
    publisher.pump()
    client.puback_all()
    assert publisher.in_flight == 50 + 300
    sent = len(client.msg_ids)
    clock.now += 11  # the 50 are 21 s old, the 300 only 11 s
    assert publisher.expire()
    publisher.pump()
    assert client.msg_ids[sent:] == client.msg_ids[150:200]  # the 50 again, nothing new: the window halved
    assert publisher.window == 200
    publisher.restart()  # a fresh client after a reconnect: everything unacknowledged goes again
    publisher.pump()
    assert client.msg_ids[sent + 50 :] == list(range(151, 351))
