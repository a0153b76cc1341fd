"""The gateway on a real Mosquitto: radio in, QoS 1 out, forgotten only on central's ack."""

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from floodmesh.broker import RunningBroker, settings_fields
from gateway.radio.base import RadioPacket
from gateway.radio.sim import Air, SimRadioLink
from gateway.service import GatewayService, GatewaySettings
from gateway.worker_events import Mqtt, urgent_first
from protocol import frames, topics
from protocol.envelopes import AppAck, Downlink, GatewayStatus, TextDownlink, Uplink, UplinkBatch
from protocol.registry import NodeRecord, NodeRegistry
from tests.mqtt_peer import MqttPeer, wait_until

pytestmark = pytest.mark.integration

WARD, GW = "19774", "gw-19774"
SENSOR, BUTTON = 0x0A000001, 0x0B000001
KEY_S, KEY_B = b"s" * 16, b"b" * 16


def _settings(tmp_path: Path, broker: RunningBroker, **overrides: Any) -> GatewaySettings:
    """The gateway's settings with its own identity on ``broker``."""
    fields = settings_fields(broker.add_gateway(WARD, GW)) | overrides
    return GatewaySettings(WARD, GW, tmp_path / "outbox.db", **fields)


@pytest.fixture
def registry() -> NodeRegistry:
    return NodeRegistry([NodeRecord(SENSOR, "water_level", KEY_S, WARD), NodeRecord(BUTTON, "sos_button", KEY_B, WARD)])


@pytest.fixture
def air() -> Air:
    return Air()


@pytest.fixture
def gateway(tmp_path: Path, mosquitto: RunningBroker, air: Air, registry: NodeRegistry) -> Iterator[GatewayService]:
    settings = _settings(tmp_path, mosquitto, retry_s=2.0)
    gw = GatewayService(settings, SimRadioLink(air, 0x0F000001), registry)
    gw.start()
    wait_until(lambda: gw.stats()["connected"] is True, what="gateway connected")
    yield gw
    gw.stop()


@pytest.fixture
def central(mosquitto: RunningBroker) -> Iterator[MqttPeer]:
    peer = MqttPeer(mosquitto.endpoint_for_central(), topics.UPLINK_FILTER, "fake-central")
    yield peer
    peer.close()


def _reading(seq: int) -> bytes:
    return frames.encode(frames.Frame(SENSOR, 1, seq, 1_700_000_000 + seq, frames.WaterLevel(5000, 90)), KEY_S)


def _items(peer: MqttPeer, skip: tuple[str, ...] = ()) -> list[tuple[int, bytes]]:
    """(msg_id, frame) of every frame published, batched or alone, in order (but for topics ending in ``skip``)."""
    out: list[tuple[int, bytes]] = []
    for topic, payload in peer.snapshot():
        if topic.endswith(skip):
            continue
        if topic.endswith("/batch"):
            out += [(i.msg_id, bytes.fromhex(i.frame)) for i in UplinkBatch.model_validate_json(payload).items]
        else:
            up = Uplink.model_validate_json(payload)
            out.append((up.msg_id, bytes.fromhex(up.frame)))
    return out


def _frames_published(peer: MqttPeer) -> int:
    return sum(len(UplinkBatch.model_validate_json(p).items) if t.endswith("/batch") else 1 for t, p in peer.snapshot())


def test_frames_reach_mqtt_and_stay_until_central_acks(gateway: GatewayService, central: MqttPeer, air: Air) -> None:
    for seq in range(3):
        air.transmit(SENSOR, _reading(seq))
    wait_until(lambda: _frames_published(central) >= 3, what="3 uplinks")
    allowed = {topics.uplink(WARD, GW, "water_level"), topics.uplink(WARD, GW, "batch")}
    assert {t for t, _ in central.snapshot()} <= allowed
    sent = _items(central)
    assert [frame for _id, frame in sent[:3]] == [_reading(s) for s in range(3)]
    assert gateway.stats()["outbox_pending"] == 3

    central.publish(topics.app_ack(WARD, GW), AppAck(msg_ids=[sent[0][0], sent[1][0]]).model_dump_json())
    wait_until(lambda: gateway.stats()["outbox_pending"] == 1, what="two messages forgotten")
    # The unacknowledged one is published again after retry_s.
    wait_until(lambda: [i for i, _f in _items(central)].count(sent[2][0]) >= 2, what="republish")


def test_sos_overtakes_a_telemetry_backlog(
    tmp_path: Path, mosquitto: RunningBroker, air: Air, registry: NodeRegistry, central: MqttPeer
) -> None:
    # Frames arrive while the backhaul is down (wrong port), then the gateway restarts connected.
    offline = _settings(tmp_path, mosquitto, broker_port=1)  # nothing listens on port 1
    gw = GatewayService(offline, SimRadioLink(air, 0x0F000001), registry)
    gw.start()
    for seq in range(200):
        air.transmit(SENSOR, _reading(seq))
    sos = frames.encode(frames.Frame(BUTTON, 1, 1, 1_700_000_500, frames.Sos(1, 2)), KEY_B)
    air.transmit(BUTTON, sos)
    wait_until(lambda: gw.stats().get("stored") == 201, what="all frames stored offline")
    gw.stop()
    online = _settings(tmp_path, mosquitto, window=50)
    gw = GatewayService(online, SimRadioLink(air, 0x0F000001), registry)
    gw.start()
    try:
        wait_until(lambda: _frames_published(central) >= 2 + 50, what="first window drained")
        # The SOS first, then the ward's own handling of it during the outage (it was cut off),
        # then the readings in batches; and the window holds: 50 readings unacknowledged, the two
        # emergency messages riding outside it (an SOS never waits for the window).
        sent = [t for t, _p in central.snapshot()]
        assert sent[:3] == [topics.uplink(WARD, GW, leaf) for leaf in ("sos", "case_events", "batch")]
        assert _frames_published(central) == 2 + 50
    finally:
        gw.stop()


def test_bad_frames_are_counted_and_good_ones_still_flow(
    gateway: GatewayService, central: MqttPeer, air: Air
) -> None:
    forged = frames.encode(frames.Frame(BUTTON, 1, 9, 0, frames.Sos(1, 1)), b"f" * 16)
    air.transmit(0x0C000001, b"\x01\x02junk")
    air.transmit(0x0C000001, forged)
    air.transmit(SENSOR, _reading(1))
    wait_until(lambda: len(central.snapshot()) == 1, what="the good frame")
    stats = gateway.stats()
    assert stats["rejected_by_reason"] == {"too_short": 1, "bad_tag": 1}
    assert stats["stored"] == 1


def test_downlink_reaches_the_node(gateway: GatewayService, central: MqttPeer, air: Air) -> None:
    heard: list[bytes] = []
    air.attach(BUTTON, lambda _f, frame: heard.append(frame))
    ack = frames.encode(frames.Frame(BUTTON, 7, 1, 0, frames.Ack(1, 1, 42, 1)), KEY_B)
    central.publish(topics.downlink(WARD, GW, BUTTON), Downlink(node_id=BUTTON, frame=ack.hex()).model_dump_json())
    central.publish(topics.downlink(WARD, GW, BUTTON), b"{not json")
    wait_until(lambda: heard == [ack], what="ACK on the air")
    wait_until(lambda: gateway.stats()["rejected_by_reason"] == {"invalid_downlink": 1}, what="bad downlink counted")


def test_mesh_duplicates_are_counted_once_and_replays_refused(
    gateway: GatewayService, central: MqttPeer, air: Air
) -> None:
    for seq in (5, 6):
        air.transmit(SENSOR, _reading(seq))
    air.transmit(SENSOR, _reading(6))  # the mesh repeated it
    air.transmit(SENSOR, _reading(7))
    wait_until(lambda: gateway.stats().get("stored") == 3, what="three new frames stored")
    wait_until(lambda: gateway.stats().get("duplicates") == 1, what="the repeat counted")
    old = frames.encode(frames.Frame(SENSOR, 0, 99, 1_700_000_000, frames.WaterLevel(5000, 90)), KEY_S)
    air.transmit(0x0C000001, old)  # captured in an earlier boot epoch, played back now
    wait_until(lambda: gateway.stats()["rejected_by_reason"] == {"replay": 1}, what="the replay refused")
    wait_until(lambda: _frames_published(central) == 3, what="only the new frames published")


def test_a_retrying_button_hears_the_last_downlink_again(
    gateway: GatewayService, central: MqttPeer, air: Air
) -> None:
    heard: list[bytes] = []
    air.attach(BUTTON, lambda _f, frame: heard.append(frame))
    sos = frames.encode(frames.Frame(BUTTON, 1, 1, 1_700_000_500, frames.Sos(1, 2)), KEY_B)
    air.transmit(BUTTON, sos)
    wait_until(lambda: _frames_published(central) == 1, what="the SOS published")
    ack = frames.encode(frames.Frame(BUTTON, 7, 1, 0, frames.Ack(1, 1, 42, 1)), KEY_B)
    central.publish(topics.downlink(WARD, GW, BUTTON), Downlink(node_id=BUTTON, frame=ack.hex()).model_dump_json())
    wait_until(lambda: heard == [ack], what="the ACK")
    air.transmit(BUTTON, sos)  # the button missed it and retries
    wait_until(lambda: heard == [ack, ack], what="the ACK again, from the gateway")
    assert _frames_published(central) == 1


def test_replay_memory_survives_a_restart(
    tmp_path: Path, mosquitto: RunningBroker, air: Air, registry: NodeRegistry, central: MqttPeer
) -> None:
    settings = _settings(tmp_path, mosquitto)
    gw = GatewayService(settings, SimRadioLink(air, 0x0F000001), registry)
    gw.start()
    for seq in range(300):
        air.transmit(SENSOR, _reading(seq))
    wait_until(lambda: gw.stats().get("stored") == 300, what="frames stored")
    gw.stop()
    gw = GatewayService(settings, SimRadioLink(air, 0x0F000001), registry)
    gw.start()
    try:
        air.transmit(SENSOR, _reading(3))
        air.transmit(SENSOR, _reading(300))
        wait_until(lambda: gw.stats().get("stored") == 1, what="the new frame")
        assert gw.stats()["rejected_by_reason"] == {"replay": 1}
    finally:
        gw.stop()


def test_flood_alerts_and_central_texts_reach_the_mesh(gateway: GatewayService, central: MqttPeer, air: Air) -> None:
    officer, resident = 0x0D000001, 0x0D000002
    screens: dict[int, list[str]] = {officer: [], resident: []}
    for node in screens:
        air.attach_text(node, lambda heard, node=node: screens[node].append(heard.text))
    alert = {"kind": "level_raised", "level": "BD2", "text": "Kim Long: VUOT BD2 | 2.01m | +0.08m/h"}
    central.publish(topics.alerts(WARD), json.dumps(alert))
    wait_until(lambda: screens[resident] == [alert["text"]], what="the alert broadcast to every radio")
    assert screens[officer] == [alert["text"]]
    note = TextDownlink(node_id=officer, text="SOS #7 P1 | medical | 3 người | Phường Kim Long")
    central.publish(topics.text_downlink(WARD, GW), note.model_dump_json())
    wait_until(lambda: screens[officer][-1:] == [note.text], what="the case text on the officer's radio")
    assert screens[resident] == [alert["text"]]  # a direct message, not a broadcast
    central.publish(topics.alerts("19999"), json.dumps(alert))  # another ward's alert never airs here
    central.publish(topics.alerts(WARD), b"{}")
    wait_until(lambda: gateway.stats()["rejected_by_reason"] == {"invalid_alert": 1}, what="a bad alert refused")
    assert gateway.stats()["alerts_broadcast"] == 1


@pytest.mark.unit
def test_sos_and_frame_downlinks_are_split_out_first_in_order() -> None:
    def packet(frame: bytes) -> RadioPacket:
        return RadioPacket(frame=frame, from_node=0, rssi=None, snr=None)

    sos = frames.encode(frames.Frame(BUTTON, 1, 1, 1_700_000_500, frames.Sos(1, 2)), KEY_B)
    cancel = frames.encode(frames.Frame(BUTTON, 1, 2, 1_700_000_501, frames.SosCancel(1)), KEY_B)
    ack_down = Mqtt(topics.downlink(WARD, GW, BUTTON), b"{}")
    text_down, app_ack = Mqtt(topics.text_downlink(WARD, GW), b"{}"), Mqtt(topics.app_ack(WARD, GW), b"{}")
    readings = [packet(_reading(s)) for s in range(3)]
    events: list[Any] = [readings[0], packet(sos), text_down, readings[1], ack_down, app_ack, packet(cancel),
                         readings[2], packet(b"")]
    urgent, rest = urgent_first(events)
    assert urgent == [packet(sos), ack_down, packet(cancel)]
    assert rest == [readings[0], text_down, readings[1], app_ack, readings[2], packet(b"")]


def test_an_sos_in_a_batch_of_readings_is_stored_and_published_before_them(
    tmp_path: Path, mosquitto: RunningBroker, air: Air, registry: NodeRegistry, central: MqttPeer
) -> None:
    gw = GatewayService(_settings(tmp_path, mosquitto), SimRadioLink(air, 0x0F000001), registry)
    sos = frames.encode(frames.Frame(BUTTON, 1, 1, 1_700_000_500, frames.Sos(1, 2)), KEY_B)
    # 1,000 readings heard, then the SOS, queued before the worker starts: its first batch holds them all.
    for seq in range(1000):
        gw._events.put(RadioPacket(_reading(seq), SENSOR, -90, 7.5))
    gw._events.put(RadioPacket(sos, BUTTON, -90, 7.5))
    gw.start()
    try:
        wait_until(lambda: _frames_published(central) >= 3, what="the SOS and readings published")
        # (the ward's own handling of the SOS, case_events, comes too: the gateway starts cut off)
        sent = _items(central, skip=("/case_events",))
        assert sent[0][1] == sos
        assert sent[0][0] < min(msg_id for msg_id, _f in sent[1:])  # stored in a transaction before theirs
    finally:
        gw.stop()


def test_the_gateway_repeats_its_status_with_outbox_depth_and_radio_link(
    tmp_path: Path, mosquitto: RunningBroker, air: Air, registry: NodeRegistry
) -> None:
    watcher = MqttPeer(mosquitto.endpoint_for_central(), topics.STATUS_FILTER, "status-watcher")
    gw = GatewayService(_settings(tmp_path, mosquitto, status_interval_s=0.2), SimRadioLink(air, 0x0F000001), registry)
    gw.start()
    try:
        def statuses() -> list[GatewayStatus]:
            return [GatewayStatus.model_validate_json(p) for t, p in watcher.messages if t == topics.status(WARD, GW)]

        air.transmit(SENSOR, _reading(1))  # nobody acknowledges it: it stays in the outbox
        wait_until(lambda: any(s.outbox_pending == 1 for s in statuses()), what="a status with the outbox depth")
        wait_until(lambda: len(statuses()) >= 3, what="the status repeated every status_interval_s")
        assert all(s.online and s.radio == "up" and s.at is not None for s in statuses())
    finally:
        gw.stop()
        watcher.close()


def test_its_own_status_echoed_back_by_a_broker_is_ignored_not_refused(gateway: GatewayService) -> None:
    # amqtt hands a persistent session retained messages it never subscribed to, its own last will among them.
    will = GatewayStatus(gateway=GW, ward=WARD, online=False).model_dump_json().encode()
    gateway._events.put(Mqtt(topics.status(WARD, GW), will))
    wait_until(lambda: gateway.stats().get("foreign_topics") == 1, what="the echo counted as foreign")
    assert gateway.stats()["rejected"] == 0
