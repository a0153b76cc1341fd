"""MqttIngest and CentralService against a real Mosquitto: SOS in, case stored, ACK and app ack out."""

import json
import queue
import urllib.request
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from central.core.config import CentralSettings
from central.ingest.mqtt_ingest import MqttIngest
from central.ingest.processor import UplinkProcessor
from central.service import CentralService
from central.store.base import CentralStore
from central.store.connect import open_store
from central.store.sqlite import SqliteStore
from floodmesh.broker import RunningBroker, settings_fields
from protocol import frames, topics
from protocol.envelopes import AppAck, CaseEvent, CaseEvents, Downlink, WardDirectory, sos_case_ref
from protocol.registry import NodeRegistry
from tests.central.central_testkit import BUTTON_ID, BUTTON_KEY, GATEWAY, NOW, WARD, encode, make_uplink, vector_hex
from tests.mqtt_peer import stand_in_gateway, wait_until


@pytest.fixture
def gateway(mosquitto: RunningBroker) -> Iterator[tuple[mqtt.Client, "queue.Queue[mqtt.MQTTMessage]"]]:
    """A stand-in gateway: subscribed to its downlinks and app acks."""
    client, inbox = stand_in_gateway(mosquitto, WARD, GATEWAY)
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
    ingest = MqttIngest(processor, mosquitto.endpoint_for_central(), client_id="central-test")
    ingest.start()
    try:
        assert ingest.wait_subscribed(10)  # central's SUBACK
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
@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_central_service_end_to_end(
    tmp_path: Path,
    mosquitto: RunningBroker,
    gateway: tuple[mqtt.Client, "queue.Queue[mqtt.MQTTMessage]"],
    registry: NodeRegistry,
    backend: str,
    request: pytest.FixtureRequest,
) -> None:
    client, inbox = gateway
    registry.save(tmp_path / "registry.json")
    settings = CentralSettings(
        db_path=tmp_path / "central.sqlite",
        registry_path=tmp_path / "registry.json",
        **settings_fields(mosquitto.endpoint_for_central()),
        api_port=0,
        client_id="central-service-test",
        database_url=request.getfixturevalue("postgres_url") if backend == "postgres" else None,
    )
    service = CentralService(settings)
    service.start()
    try:
        wait_until(lambda: service.ingest is not None, what="central's ingest")
        assert service.ingest is not None
        assert service.ingest.wait_subscribed(10)  # central's SUBACK
        publish(client, make_uplink(vector_hex("sos_medical_gps"), 1))
        # Kim Long's gauge comes through Kim Long's own gateway: another ward's identity may not publish it.
        kim_long, _kim_long_inbox = stand_in_gateway(mosquitto, "19813", "gw-19813")
        publish(kim_long, make_uplink(vector_hex("water_level_kim_long"), 2, ward="19813", gateway="gw-19813"))
        kim_long.disconnect()
        kim_long.loop_stop()
        receive(inbox, 2)  # ACK downlink and app ack to gw-kimlong
        wait_until(lambda: service.stats()["readings_stored"] == 1, what="the reading stored")
        with urllib.request.urlopen(service.api_url + "/api/stats", timeout=5) as resp:  # noqa: S310 - loopback
            stats = json.load(resp)
        with urllib.request.urlopen(service.api_url + "/healthz", timeout=5) as resp:  # noqa: S310 - loopback
            health = json.load(resp)
    finally:
        service.stop()
    assert (stats["sos_cases"], stats["readings_stored"], stats["acks_sent"]) == (1, 1, 1)
    assert health == {"status": "ok", "mqtt_connected": True}
    restarted = open_store(settings.db_path, settings.database_url)
    assert restarted.next_boot_epoch() == 2  # the service took epoch 1
    restarted.close()


@pytest.mark.integration
def test_service_publishes_directories_retained_and_merges_gateway_histories(
    tmp_path: Path,
    mosquitto: RunningBroker,
    gateway: tuple[mqtt.Client, "queue.Queue[mqtt.MQTTMessage]"],
    registry: NodeRegistry,
) -> None:
    client, inbox = gateway
    registry.save(tmp_path / "registry.json")
    authorities = tmp_path / "authorities.csv"
    authorities.write_text(
        "ward_code,authority,duty_officer,phone,radio_node_id,escalation\n"
        f"{WARD},UBND Phường Kim Long,Chị Lan,+84-1,0c0000aa,Khu vực 1|Hue IOC\n",
        encoding="utf-8",
    )
    settings = CentralSettings(
        db_path=tmp_path / "central.sqlite", registry_path=tmp_path / "registry.json", authorities_path=authorities,
        **settings_fields(mosquitto.endpoint_for_central()), api_port=0, client_id="central-directory-test",
    )
    service = CentralService(settings)
    service.start()
    try:
        wait_until(lambda: service.ingest is not None, what="central's ingest")
        assert service.ingest is not None
        assert service.ingest.wait_subscribed(10)  # central's SUBACK
        history = CaseEvents(msg_id=5, gateway=GATEWAY, ward=WARD, events=[CaseEvent(
            # Two hours before the next press: that one is a new emergency, not one more press of this.
            event_id=f"{GATEWAY}:1", case_ref=sos_case_ref(BUTTON_ID, 1, 77), kind="created",
            at=NOW - timedelta(hours=2),
            actor=f"gateway:{GATEWAY}", data={"kind": 1, "people": 2, "vulnerable": 0, "lat": None, "lon": None,
                                              "local_case": 1, "frame": encode(frames.Sos(1, 2), 77)})])
        publish(client, (topics.uplink(WARD, GATEWAY, "case_events"), history.model_dump_json().encode()))
        assert AppAck.model_validate_json(receive(inbox, 1)[topics.app_ack(WARD, GATEWAY)]) == AppAck(msg_ids=[5])
        publish(client, make_uplink(vector_hex("sos_trapped_no_gps"), 6))  # a new case: Chị Lan gets a text
        got = receive(inbox, 3)  # the button's ACK, the app ack, the text (down/+ covers down/text)
    finally:
        service.stop()
    # A gateway that connects later still finds its ward's directory (retained).
    late: queue.Queue[mqtt.MQTTMessage] = queue.Queue()
    sub = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="late-gateway")
    late_gateway = mosquitto.add_gateway(WARD, "gw-late")
    late_gateway.configure(sub)
    sub.on_message = lambda _c, _u, msg: late.put(msg)
    sub.connect(late_gateway.host, late_gateway.port)
    sub.loop_start()
    sub.subscribe(topics.directory(WARD), qos=1)
    try:
        retained = late.get(timeout=10)
    finally:
        sub.disconnect()
        sub.loop_stop()
    directory = WardDirectory.model_validate_json(retained.payload)
    assert retained.retain
    assert (directory.escalation, directory.officers[0].radio_node_id) == (["Khu vực 1", "Hue IOC"], 0x0C0000AA)
    assert topics.downlink(WARD, GATEWAY, BUTTON_ID) in got
    text = json.loads(got[f"floodmesh/v1/{WARD}/{GATEWAY}/down/text"])
    assert (text["node_id"], text["text"].split(" | ")[:2]) == (0x0C0000AA, ["SOS #2 P3", "trapped"])
    store = SqliteStore(settings.db_path)
    try:
        cases = store.cases()
    finally:
        store.close()
    assert [c.case_ref for c in cases] == ["sos:0b000042:1:3", "sos:0b000042:1:77"]
