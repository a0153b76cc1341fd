"""MqttIngest and CentralService against a real Mosquitto: SOS in, case stored, ACK and app ack out."""

import json
import queue
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from central.core.config import CentralSettings
from central.ingest.mqtt_ingest import MqttIngest
from central.ingest.processor import UplinkProcessor
from central.service import CentralService
from central.store.sqlite import CentralStore
from floodmesh.broker import RunningBroker
from protocol import frames, topics
from protocol.envelopes import AppAck, Downlink
from protocol.registry import NodeRegistry
from tests.central.central_testkit import BUTTON_ID, BUTTON_KEY, GATEWAY, WARD, make_uplink, vector_hex


def wait_for(predicate: Callable[[], bool], timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.02)


@pytest.fixture
def gateway(mosquitto: RunningBroker) -> Iterator[tuple[mqtt.Client, "queue.Queue[mqtt.MQTTMessage]"]]:
    """A stand-in gateway: subscribed to its downlinks and app acks."""
    inbox: queue.Queue[mqtt.MQTTMessage] = queue.Queue()
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="test-gateway")
    client.on_message = lambda _c, _u, msg: inbox.put(msg)
    client.connect(mosquitto.host, mosquitto.port)
    client.loop_start()
    for topic in (topics.downlink_filter(WARD, GATEWAY), topics.app_ack(WARD, GATEWAY)):
        client.subscribe(topic, qos=1)
    time.sleep(0.2)  # let the SUBACKs land before anything is published
    yield client, inbox
    client.disconnect()
    client.loop_stop()


def publish(client: mqtt.Client, uplink: tuple[str, bytes]) -> None:
    client.publish(uplink[0], uplink[1], qos=1).wait_for_publish(5)


def receive(inbox: "queue.Queue[mqtt.MQTTMessage]", n: int) -> dict[str, bytes]:
    got: dict[str, bytes] = {}
    for _ in range(n):
        msg = inbox.get(timeout=10)
        got[msg.topic] = bytes(msg.payload)
    return got


@pytest.mark.integration
def test_sos_through_broker_is_stored_acked_and_app_acked(
    mosquitto: RunningBroker,
    gateway: tuple[mqtt.Client, "queue.Queue[mqtt.MQTTMessage]"],
    processor: UplinkProcessor,
    store: CentralStore,
) -> None:
    client, inbox = gateway
    ingest = MqttIngest(processor, mosquitto.host, mosquitto.port, client_id="central-test")
    ingest.start()
    try:
        wait_for(lambda: ingest.connected)
        time.sleep(0.2)  # central's SUBACK
        publish(client, make_uplink(vector_hex("sos_trapped_no_gps"), 41))
        got = receive(inbox, 2)
    finally:
        ingest.stop()
    (case,) = store.cases()
    assert (case.ward_code, case.located_by) == ("19774", "registry")
    down = Downlink.model_validate_json(got[topics.downlink(WARD, GATEWAY, BUTTON_ID)])
    ack = frames.decode(bytes.fromhex(down.frame), BUTTON_KEY)
    assert ack.payload == frames.Ack(1, 3, case.case_number, 1)
    assert AppAck.model_validate_json(got[topics.app_ack(WARD, GATEWAY)]) == AppAck(msg_ids=[41])
    assert ingest.status().batches >= 1


@pytest.mark.integration
def test_central_service_end_to_end(
    tmp_path: Path,
    mosquitto: RunningBroker,
    gateway: tuple[mqtt.Client, "queue.Queue[mqtt.MQTTMessage]"],
    registry: NodeRegistry,
) -> None:
    client, inbox = gateway
    registry.save(tmp_path / "registry.json")
    settings = CentralSettings(
        db_path=tmp_path / "central.sqlite",
        registry_path=tmp_path / "registry.json",
        broker_host=mosquitto.host,
        broker_port=mosquitto.port,
        api_port=0,
        client_id="central-service-test",
    )
    service = CentralService(settings)
    service.start()
    try:
        wait_for(lambda: service.ingest is not None and service.ingest.connected)
        time.sleep(0.2)
        publish(client, make_uplink(vector_hex("sos_medical_gps"), 1))
        publish(client, make_uplink(vector_hex("water_level_kim_long"), 2, ward="19813"))
        receive(inbox, 2)  # ACK downlink and app ack to gw-kimlong
        wait_for(lambda: service.stats()["readings_stored"] == 1)
        with urllib.request.urlopen(service.api_url + "/api/stats", timeout=5) as resp:  # noqa: S310 - loopback
            stats = json.load(resp)
        with urllib.request.urlopen(service.api_url + "/healthz", timeout=5) as resp:  # noqa: S310 - loopback
            health = json.load(resp)
    finally:
        service.stop()
    assert (stats["sos_cases"], stats["readings_stored"], stats["acks_sent"]) == (1, 1, 1)
    assert health == {"status": "ok", "mqtt_connected": True}
    restarted = CentralStore(settings.db_path)
    assert restarted.next_boot_epoch() == 2  # the service took epoch 1
    restarted.close()
