"""The broker's trust boundary on a real Mosquitto: TLS, one password per identity, the ACL.

Mosquitto 2.0 drops a denied publish silently (MQTT 3.1.1 has no way to say no), so every ACL test
asserts on what subscribers receive: a marker the identity may send goes out after the denied
messages on the same connection, and once the marker has arrived, anything ahead of it would have.
"""

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from central.core.config import DATA_DIR
from central.geo.authorities import load_authorities
from central.geo.ward_locator import WardLocator
from central.ingest.mqtt_ingest import MqttIngest
from central.ingest.processor import UplinkProcessor
from central.store.sqlite import SqliteStore
from floodmesh.broker import RunningBroker, probe_connect, settings_fields, start_broker
from gateway.radio.sim import Air, SimRadioLink
from gateway.service import GatewayService, GatewaySettings
from protocol import topics
from protocol.mqtt_endpoint import MqttEndpoint
from protocol.registry import NodeRegistry
from tests.mqtt_peer import MqttPeer, wait_until

pytestmark = pytest.mark.integration

WARD, GW = "19774", "gw-19774"
OTHER_WARD, OTHER_GW = "19813", "gw-19813"


@pytest.fixture
def broker(mosquitto: RunningBroker) -> RunningBroker:
    mosquitto.add_gateway(OTHER_WARD, OTHER_GW)
    return mosquitto


@pytest.fixture
def gateway(broker: RunningBroker) -> Iterator[MqttPeer]:
    """Gateway gw-19774 as a raw paho client (not our GatewayService: a compromised gateway)."""
    peer = MqttPeer(broker.add_gateway(WARD, GW), topics.app_ack(WARD, GW), "rogue-gateway")
    yield peer
    peer.close()


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"{name} is not installed: apt-get install mosquitto-clients openssl")
    return path


def _other_ca(tmp_path: Path) -> Path:
    """A CA made with the openssl CLI: valid, but not the broker's."""
    key, cert = tmp_path / "other-ca.key", tmp_path / "other-ca.crt"
    subprocess.run([_tool("openssl"), "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                    "-nodes", "-keyout", str(key), "-out", str(cert), "-days", "1", "-subj", "/CN=not the broker CA"],
                   check=True, capture_output=True)
    return cert


def test_anonymous_clients_are_refused(broker: RunningBroker) -> None:
    assert not probe_connect(MqttEndpoint(broker.host, broker.port, ca_file=broker.ca_file), timeout_s=5)
    sub = _tool("mosquitto_sub")
    base = [sub, "-h", broker.host, "-p", str(broker.port), "-t", "#", "-W", "5"]
    plain = subprocess.run(base, capture_output=True, timeout=30, check=False)
    assert plain.returncode != 0  # no plaintext listener at all
    tls = subprocess.run([*base, "--cafile", str(broker.ca_file)], capture_output=True, timeout=30, check=False)
    assert tls.returncode != 0
    assert b"not authorised" in tls.stderr


def test_a_wrong_password_is_refused(broker: RunningBroker) -> None:
    central = broker.endpoint_for_central()
    assert probe_connect(central, timeout_s=5)  # the control: the right password gets in
    wrong = MqttEndpoint(broker.host, broker.port, central.username, "guessed", broker.ca_file)
    assert not probe_connect(wrong, timeout_s=5)
    other_users_password = MqttEndpoint(broker.host, broker.port, GW, central.password, broker.ca_file)
    assert not probe_connect(other_users_password, timeout_s=5)


def test_a_client_that_trusts_another_ca_does_not_connect(tmp_path: Path, broker: RunningBroker) -> None:
    central = broker.endpoint_for_central()
    elsewhere = MqttEndpoint(broker.host, broker.port, central.username, central.password, _other_ca(tmp_path))
    assert not probe_connect(elsewhere, timeout_s=5)


def test_a_certificate_for_another_host_is_refused(tmp_path: Path) -> None:
    with start_broker(tmp_path / "broker", prefer="mosquitto", cert_hosts=["broker.elsewhere.example"]) as broker:
        assert not probe_connect(broker.endpoint_for_central(), timeout_s=5)  # dialled 127.0.0.1, not named


def test_a_gateway_cannot_publish_into_another_ward(broker: RunningBroker, gateway: MqttPeer) -> None:
    central = MqttPeer(broker.endpoint_for_central(), topics.UPLINK_FILTER, "central-observer")
    try:
        gateway.publish(topics.uplink(OTHER_WARD, OTHER_GW, "sos"), b"forged")
        gateway.publish(topics.uplink(WARD, OTHER_GW, "sos"), b"forged")  # own ward, someone else's gateway
        gateway.publish(topics.uplink(WARD, GW, "sos"), b"marker")
        wait_until(lambda: len(central.snapshot()) >= 1, what="the gateway's own uplink at central")
        assert central.snapshot() == [(topics.uplink(WARD, GW, "sos"), b"marker")]
    finally:
        central.close()


def test_a_gateway_subscribed_to_everything_reads_only_its_own(broker: RunningBroker) -> None:
    snoop = MqttPeer(broker.add_gateway(WARD, GW), "#", "snooping-gateway")
    central = MqttPeer(broker.endpoint_for_central(), "nothing/we/read", "central-writer")
    try:
        central.publish(topics.downlink(OTHER_WARD, OTHER_GW, 0x0B000001), b"not yours")
        central.publish(topics.alerts(OTHER_WARD), b"not your ward")
        central.publish(topics.app_ack(WARD, GW), b"marker")
        wait_until(lambda: len(snoop.snapshot()) >= 1, what="the gateway's own ack")
        assert snoop.snapshot() == [(topics.app_ack(WARD, GW), b"marker")]
    finally:
        snoop.close()
        central.close()
    # The mosquitto_sub CLI with the gateway's identity sees the same: nothing of another ward.
    sub = _tool("mosquitto_sub")
    endpoint = broker.add_gateway(WARD, GW)
    out = subprocess.run([sub, "-h", broker.host, "-p", str(broker.port), "--cafile", str(broker.ca_file),
                          "-u", GW, "-P", str(endpoint.password), "-t", f"{topics.PREFIX}/{OTHER_WARD}/#", "-v",
                          "-W", "2"], capture_output=True, timeout=30, check=False)
    assert out.stdout == b""


def test_a_gateway_cannot_write_directory_alerts_or_downlinks(broker: RunningBroker, gateway: MqttPeer) -> None:
    neighbour = "gw-19774-b"  # another gateway of the same ward
    broker.add_gateway(WARD, neighbour)
    for topic in (topics.directory(WARD), topics.alerts(WARD), topics.downlink(WARD, neighbour, 0x0B000001)):
        gateway.client.publish(topic, b"forged", qos=1, retain=True).wait_for_publish(10)
    central = MqttPeer(broker.endpoint_for_central(), "nothing/we/read", "central-marker")
    central.client.publish(topics.app_ack(WARD, neighbour), b"marker", qos=1, retain=True).wait_for_publish(10)
    central.close()
    # The neighbour connects afresh: retained messages come in the order of its filters, so once the
    # marker (last filter) is here, a retained directory, alert or downlink would have come first.
    fresh, got = _subscriber(broker.endpoint_for(neighbour), [
        topics.directory(WARD), topics.alerts(WARD), topics.downlink_filter(WARD, neighbour),
        topics.app_ack(WARD, neighbour)])
    try:
        wait_until(lambda: len(got) >= 1, what="the retained marker")
        assert got == [(topics.app_ack(WARD, neighbour), b"marker")]
    finally:
        fresh.disconnect()
        fresh.loop_stop()


def _subscriber(endpoint: MqttEndpoint, filters: list[str]) -> tuple[mqtt.Client, list[tuple[str, bytes]]]:
    got: list[tuple[str, bytes]] = []
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"fresh-{endpoint.username}")
    endpoint.configure(client)
    client.on_message = lambda _c, _u, msg: got.append((msg.topic, bytes(msg.payload)))
    client.on_connect = lambda c, *_: c.subscribe([(f, 1) for f in filters])
    client.connect(endpoint.host, endpoint.port)
    client.loop_start()
    return client, got


def test_a_refused_gateway_is_counted_and_stays_offline(tmp_path: Path, broker: RunningBroker) -> None:
    fields = settings_fields(broker.add_gateway(WARD, GW)) | {"mqtt_password": "stale"}
    gw = GatewayService(GatewaySettings(WARD, GW, tmp_path / "outbox.db", **fields), SimRadioLink(Air(), 1),
                        NodeRegistry())
    gw.start()
    try:
        wait_until(lambda: int(str(gw.stats()["broker_refused"])) >= 1, what="the refusal counted")
        assert gw.stats()["connected"] is False
    finally:
        gw.stop()


def test_central_counts_a_refusal_and_an_untrusted_broker(tmp_path: Path, broker: RunningBroker) -> None:
    central = broker.endpoint_for_central()
    bad_password = MqttEndpoint(broker.host, broker.port, central.username, "stale", central.ca_file)
    wrong_ca = MqttEndpoint(broker.host, broker.port, central.username, central.password, _other_ca(tmp_path))
    locator = WardLocator.from_geojson(DATA_DIR / "hue_wards.geojson", load_authorities(DATA_DIR / "authorities.csv"))
    for endpoint, counter in ((bad_password, "broker_refused"), (wrong_ca, "broker_unreachable")):
        store = SqliteStore(tmp_path / f"{counter}.sqlite")
        processor = UplinkProcessor(NodeRegistry(), locator, {}, store)
        ingest = MqttIngest(processor, endpoint, client_id=f"central-{counter}")
        ingest.start()
        try:
            wait_until(lambda ingest=ingest, counter=counter: getattr(ingest.status(), counter) >= 1,  # type: ignore[misc]
                       what=f"central's {counter}")
            assert not ingest.connected
        finally:
            ingest.stop()
            store.close()
