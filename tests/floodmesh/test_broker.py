"""Both brokers start on a free port and carry QoS 1 messages."""

import socket
from pathlib import Path

import pytest

from floodmesh.broker import BrokerKind, free_port, port_is_free, start_broker
from protocol import topics
from tests.mqtt_peer import MqttPeer, wait_until

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("kind", ["mosquitto", "amqtt"])
def test_broker_carries_messages(tmp_path: Path, kind: BrokerKind) -> None:
    with start_broker(tmp_path, prefer=kind, gateways=[("19774", "gw-19774")]) as broker:
        assert broker.kind == kind
        peer = MqttPeer(broker.endpoint_for_central(), topics.UPLINK_FILTER)
        gateway = MqttPeer(broker.add_gateway("19774", "gw-19774"), topics.app_ack("19774", "gw-19774"), "gw")
        try:
            gateway.publish(topics.uplink("19774", "gw-19774", "sos"), b"hello")
            wait_until(lambda: peer.snapshot() == [(topics.uplink("19774", "gw-19774", "sos"), b"hello")],
                       what="message through the broker")
            peer.publish(topics.app_ack("19774", "gw-19774"), b"ack")
            wait_until(lambda: gateway.snapshot() == [(topics.app_ack("19774", "gw-19774"), b"ack")],
                       what="central's answer through the broker")
        finally:
            peer.close()
            gateway.close()
    assert broker.process.poll() is not None


def test_port_is_free_sees_a_listener() -> None:
    port = free_port()
    assert port_is_free("127.0.0.1", port)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", port))
        sock.listen()
        assert not port_is_free("127.0.0.1", port)
