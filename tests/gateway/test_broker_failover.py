"""A gateway with a list of brokers: the primary, then each failover broker in turn."""


import pytest

from gateway.broker_failover import BrokerFailover, parse_brokers
from gateway.config import GatewaySettings
from protocol.mqtt_endpoint import EndpointError, MqttEndpoint

WARD, GW = "19813", "gw-19813"
READINGS, SOS = 600, 4


@pytest.mark.unit
def test_failover_list_is_parsed_and_checked() -> None:
    assert parse_brokers("a:1, b:8883,") == [("a", 1), ("b", 8883)]
    assert parse_brokers("") == []
    with pytest.raises(EndpointError, match="HOST:PORT"):
        parse_brokers("nats-2")
    settings = GatewaySettings(WARD, GW, broker_host="n1", broker_failover=["n2:8883", "n3:8883"],
                               mqtt_insecure_plaintext=True)
    chain = settings.broker_failover_chain()
    assert [(chain.advance().host) for _ in range(3)] == ["n2", "n3", "n1"]
    assert chain.switches == 3


@pytest.mark.unit
def test_a_single_broker_never_switches() -> None:
    chain = BrokerFailover([MqttEndpoint("n1", 1, insecure_plaintext=True)])
    assert not chain.has_alternatives
    assert chain.advance().host == "n1"
    assert chain.switches == 0


# The failover itself, on a real 3-node cluster with central replicas pulling from JetStream, is
# tests/central/test_central_jetstream.py (one cluster start for both proofs keeps the suite short).
