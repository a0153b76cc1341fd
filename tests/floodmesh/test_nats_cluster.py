"""The IOC's clustered broker tier: 3 nats-server nodes, JetStream, their MQTT listener, our identities."""

import asyncio
import ssl
from collections.abc import Iterator
from dataclasses import replace

import nats
import nats.errors
import pytest

from floodmesh.broker import probe_connect
from floodmesh.broker_auth import BrokerAuth, central_identity, gateway_identity
from floodmesh.nats_cli import describe
from floodmesh.nats_cluster import NatsCluster, find_nats_server, start_nats_cluster
from floodmesh.nats_config import NatsConfigError, mqtt_filter_to_subject, permissions_for
from protocol import topics
from tests.mqtt_peer import MqttPeer, wait_until

WARD, GW = "19774", "gw-19774"
OTHER_WARD, OTHER_GW = "19813", "gw-19813"


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NatsCluster]:
    """Three nodes on loopback with a gateway of two wards; tests here do not kill nodes."""
    if find_nats_server() is None:
        pytest.fail("nats-server is not installed: scripts/setup.sh installs it (apt-get install nats-server)")
    running = start_nats_cluster(tmp_path_factory.mktemp("nats"), gateways=[(WARD, GW), (OTHER_WARD, OTHER_GW)])
    yield running
    running.stop()


@pytest.mark.unit
def test_topic_filters_map_to_subjects_as_nats_server_does() -> None:
    assert mqtt_filter_to_subject("floodmesh/v1/+/+/up/#") == "floodmesh.v1.*.*.up.>"
    assert mqtt_filter_to_subject("floodmesh/v1/19774/gw-1/ack") == "floodmesh.v1.19774.gw-1.ack"
    with pytest.raises(NatsConfigError, match="dots"):
        mqtt_filter_to_subject("floodmesh/v1/ward.1/gw/up/#")


@pytest.mark.unit
def test_gateway_permissions_are_the_mosquitto_acl_translated() -> None:
    perms = permissions_for(gateway_identity(WARD, GW))
    assert perms.publish == (f"floodmesh.v1.{WARD}.{GW}.up.>", f"floodmesh.v1.{WARD}.{GW}.status")
    assert f"floodmesh.v1.{WARD}.{GW}.down.>" in perms.subscribe
    assert f"floodmesh.v1.{WARD}.alerts" in perms.subscribe
    assert not any(OTHER_WARD in s or "*" in s or s == ">" for s in perms.publish + perms.subscribe)
    central = permissions_for(central_identity())
    assert "floodmesh.v1.*.*.up.>" in central.subscribe
    assert "floodmesh.v1.*.*.up.>" not in central.publish  # central cannot forge a gateway's uplink


@pytest.mark.integration
def test_qos1_publish_on_one_node_reaches_a_persistent_session_held_on_others(cluster: NatsCluster) -> None:
    central = MqttPeer(cluster.endpoint_for_central(1), topics.UPLINK_FILTER, "central-session", clean_session=False)
    central.close()  # the session (and its QoS 1 subscription) stays in replicated JetStream
    gateway = MqttPeer(cluster.endpoint_for(GW, 0), topics.app_ack(WARD, GW), "gw-publisher")
    try:
        for n in range(5):
            gateway.publish(topics.uplink(WARD, GW, "sos"), f"sos-{n}")  # PUBACK: stored in JetStream
        # Back on a third node: the messages published while away are delivered there.
        central = MqttPeer(cluster.endpoint_for_central(2), topics.UPLINK_FILTER, "central-session",
                           clean_session=False)
        wait_until(lambda: len(central.snapshot()) >= 5, what="the session's messages on another node")
        assert sorted(p for _t, p in central.snapshot()) == [f"sos-{n}".encode() for n in range(5)]
    finally:
        gateway.close()
        central.close()


@pytest.mark.integration
def test_a_gateway_cannot_publish_or_read_another_wards_subjects(cluster: NatsCluster) -> None:
    central = MqttPeer(cluster.endpoint_for_central(1), topics.UPLINK_FILTER, "central-watch")
    gateway = MqttPeer(cluster.endpoint_for(GW, 0), f"{topics.PREFIX}/{OTHER_WARD}/{OTHER_GW}/up/+", "gw-snoop")
    spy = MqttPeer(cluster.endpoint_for(GW, 2), "$MQTT/sub/#", "gw-spy")  # JetStream's delivery subjects
    try:
        assert gateway.granted == [False]
        assert spy.granted == [False]
        gateway.publish(topics.uplink(OTHER_WARD, OTHER_GW, "sos"), "forged")
        gateway.publish(topics.uplink(WARD, GW, "sos"), "own")
        # Published in order on one connection: once "own" is in, "forged" would have been too.
        wait_until(lambda: len(central.snapshot()) >= 1, what="the gateway's own uplink")
        assert central.snapshot() == [(topics.uplink(WARD, GW, "sos"), b"own")]
        assert gateway.snapshot() == []
        assert spy.snapshot() == []
    finally:
        for peer in (central, gateway, spy):
            peer.close()


@pytest.mark.integration
def test_a_gateway_identity_cannot_speak_native_nats(cluster: NatsCluster) -> None:
    async def connect(user: str) -> None:
        tls = ssl.create_default_context(cafile=str(cluster.ca_file))
        client = await nats.connect(cluster.nats_url(0), tls=tls, user=user, allow_reconnect=False,
                                    password=BrokerAuth(cluster.directory).password(user), connect_timeout=5,
                                    max_reconnect_attempts=0)
        await client.close()

    asyncio.run(connect("central"))  # central's JetStream consumer speaks native NATS
    with pytest.raises(nats.errors.Error, match="Authorization Violation"):
        asyncio.run(connect(GW))  # a gateway only MQTT: no subscribing around the topic mapping


@pytest.mark.integration
def test_cluster_refuses_an_unknown_password(cluster: NatsCluster) -> None:
    good = cluster.endpoint_for(GW, 1)
    assert probe_connect(good, timeout_s=5)
    assert not probe_connect(replace(good, password="not-the-password"), timeout_s=5)  # noqa: S106


@pytest.mark.integration
def test_the_cluster_command_tells_every_process_how_to_connect(cluster: NatsCluster) -> None:
    text = describe(cluster, [GW], replicas=2)
    assert text.count("--nats-servers " + cluster.nats_servers()) == 2
    others = ",".join(f"{e.host}:{e.port}" for e in cluster.endpoints_for(GW)[1:])
    assert f"--broker-failover {others}" in text
    assert str(cluster.directory / "secrets" / f"{GW}.password") in text
