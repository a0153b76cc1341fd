"""Both brokers start on a free port and carry QoS 1 messages."""

from pathlib import Path

import pytest

from floodmesh.broker import BrokerKind, start_broker
from tests.mqtt_peer import MqttPeer, wait_until

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("kind", ["mosquitto", "amqtt"])
def test_broker_carries_messages(tmp_path: Path, kind: BrokerKind) -> None:
    with start_broker(tmp_path, prefer=kind) as broker:
        assert broker.kind == kind
        peer = MqttPeer(broker.host, broker.port, "t/#")
        try:
            peer.publish("t/1", b"hello")
            wait_until(lambda: peer.snapshot() == [("t/1", b"hello")], what="message through the broker")
        finally:
            peer.close()
    assert broker.process.poll() is not None
