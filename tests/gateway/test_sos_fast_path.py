"""The SOS path through a real gateway on Mosquitto: durable before anything else, never behind telemetry."""

import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from floodmesh.broker import RunningBroker, settings_fields
from gateway.outbox_flusher import OutboxFlusher
from gateway.radio.base import RadioPacket
from gateway.radio.sim import Air, SimRadioLink
from gateway.service import GatewayService, GatewaySettings
from protocol import frames, topics
from protocol.envelopes import Downlink, Uplink, UplinkBatch
from protocol.registry import NodeRecord, NodeRegistry
from tests.mqtt_peer import MqttPeer, wait_until

pytestmark = pytest.mark.integration

WARD, GW = "19774", "gw-19774"
SENSOR, BUTTON = 0x0A000001, 0x0B000001
KEY_S, KEY_B = b"s" * 16, b"b" * 16
SOS = frames.encode(frames.Frame(BUTTON, 1, 1, 1_700_000_500, frames.Sos(1, 2)), KEY_B)
ACK = frames.encode(frames.Frame(BUTTON, 7, 1, 0, frames.Ack(1, 1, 42, 1)), KEY_B)


def _reading(seq: int) -> bytes:
    return frames.encode(frames.Frame(SENSOR, 1, seq, 1_700_000_000 + seq, frames.WaterLevel(5000, 90)), KEY_S)


@pytest.fixture
def registry() -> NodeRegistry:
    return NodeRegistry([NodeRecord(SENSOR, "water_level", KEY_S, WARD), NodeRecord(BUTTON, "sos_button", KEY_B, WARD)])


@pytest.fixture
def central(mosquitto: RunningBroker) -> Iterator[MqttPeer]:
    peer = MqttPeer(mosquitto.endpoint_for_central(), topics.UPLINK_FILTER, "fake-central")
    yield peer
    peer.close()


def _gateway(tmp_path: Path, broker: RunningBroker, air: Air, registry: NodeRegistry) -> GatewayService:
    fields = settings_fields(broker.add_gateway(WARD, GW))
    return GatewayService(GatewaySettings(WARD, GW, tmp_path / "outbox.db", **fields), SimRadioLink(air, 0x0F000001),
                          registry)


def _uplinks(peer: MqttPeer) -> list[tuple[str, int, bytes]]:
    """(topic leaf, msg_id, frame) of every frame central received, batched or alone, in order."""
    out: list[tuple[str, int, bytes]] = []
    for topic, payload in peer.snapshot():
        leaf = topic.rsplit("/", 1)[-1]
        if leaf == "batch":
            out += [(leaf, i.msg_id, bytes.fromhex(i.frame)) for i in UplinkBatch.model_validate_json(payload).items]
        elif leaf != "case_events":
            up = Uplink.model_validate_json(payload)
            out.append((leaf, up.msg_id, bytes.fromhex(up.frame)))
    return out


def test_the_buttons_ack_goes_on_air_only_once_its_sos_is_durable_in_the_outbox(
    tmp_path: Path, mosquitto: RunningBroker, registry: NodeRegistry, central: MqttPeer
) -> None:
    air = Air()
    gw = _gateway(tmp_path, mosquitto, air, registry)
    seen_at_ack: list[tuple[list[bytes], int]] = []

    def button_hears(_from: int, frame: bytes) -> None:
        if frame != ACK:
            return
        # The moment the ACK is on the air: what another process reading the outbox file finds, and
        # how far the gateway's outbox counts itself fsynced.
        with sqlite3.connect(tmp_path / "outbox.db") as db:
            rows = [bytes(r[0]) for r in db.execute("SELECT frame FROM outbox WHERE kind = 'sos'")]
        seen_at_ack.append((rows, gw._outbox.durable_upto))

    air.attach(BUTTON, button_hears)
    gw.start()
    try:
        wait_until(lambda: gw.stats()["connected"] is True, what="gateway connected")
        air.transmit(BUTTON, SOS)
        wait_until(lambda: len(_uplinks(central)) == 1, what="the SOS published")
        (_leaf, msg_id, frame), = _uplinks(central)
        assert frame == SOS
        # Central answers with the ACK frame, and (as central does) its end-to-end ack after it.
        central.publish(topics.downlink(WARD, GW, BUTTON), Downlink(node_id=BUTTON, frame=ACK.hex()).model_dump_json())
        wait_until(lambda: len(seen_at_ack) == 1, what="the ACK on the air")
        rows, durable_upto = seen_at_ack[0]
        assert rows == [SOS]
        assert durable_upto >= msg_id
    finally:
        gw.stop()


def test_an_sos_is_published_and_acked_while_the_telemetry_sync_hangs(
    tmp_path: Path, mosquitto: RunningBroker, registry: NodeRegistry, central: MqttPeer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A disk whose flushes stall (a worn SD card): readings wait, unpublished, for theirs; the SOS was
    # fsynced in its own commit and goes at once, and so does its ACK.
    release = threading.Event()
    real_sync = OutboxFlusher._sync_log

    def stalled(self: OutboxFlusher) -> None:
        release.wait(30)
        real_sync(self)

    monkeypatch.setattr(OutboxFlusher, "_sync_log", stalled)
    air = Air()
    heard: list[bytes] = []
    air.attach(BUTTON, lambda _f, frame: heard.append(frame) if frame == ACK else None)  # not the readings
    gw = _gateway(tmp_path, mosquitto, air, registry)
    gw.start()
    try:
        wait_until(lambda: gw.stats()["connected"] is True, what="gateway connected")
        for seq in range(50):
            air.transmit(SENSOR, _reading(seq))
        wait_until(lambda: gw.stats().get("stored") == 50, what="the readings stored")
        air.transmit(BUTTON, SOS)
        wait_until(lambda: len(_uplinks(central)) >= 1, what="the SOS published")
        central.publish(topics.downlink(WARD, GW, BUTTON), Downlink(node_id=BUTTON, frame=ACK.hex()).model_dump_json())
        wait_until(lambda: heard == [ACK], what="the ACK on the air")
        # The readings were stored well before the SOS, and the worker publishes what it may after
        # every batch: had they been sent before they were durable, central would have had them first.
        # (The SOS's fsync covers the log up to it, so they follow it, durable, without the flusher.)
        assert _uplinks(central)[0][0] == "sos"
        assert gw._flusher.syncs == 0
        release.set()
        wait_until(lambda: len(_uplinks(central)) == 51, what="every reading published")
    finally:
        release.set()
        gw.stop()


def test_an_sos_heard_while_a_backlog_of_readings_is_stored_waits_for_one_slice_not_all(
    tmp_path: Path, mosquitto: RunningBroker, registry: NodeRegistry, central: MqttPeer,
) -> None:
    air = Air()
    gw = _gateway(tmp_path, mosquitto, air, registry)
    verify = gw._verifier.verify
    verified = 0

    def verify_then_hear_the_sos(frame: bytes) -> frames.Frame:
        # The SOS is heard while the worker is busy with its 1,000-reading batch (after 10 of them).
        nonlocal verified
        verified += 1
        if verified == 10:
            gw._events.put(RadioPacket(SOS, BUTTON, -90, 7.5))
        return verify(frame)

    gw._verifier.verify = verify_then_hear_the_sos  # type: ignore[method-assign]
    for seq in range(1000):
        gw._events.put(RadioPacket(_reading(seq), SENSOR, -90, 7.5))
    gw.start()
    try:
        wait_until(lambda: any(leaf == "sos" for leaf, _i, _f in _uplinks(central)), what="the SOS published")
        wait_until(lambda: gw.stats().get("stored") == 1001, what="every frame stored")
        with sqlite3.connect(tmp_path / "outbox.db") as db:
            ids = dict(db.execute("SELECT kind, id FROM outbox WHERE kind = 'sos'"))
            after = db.execute("SELECT COUNT(*) FROM outbox WHERE kind = 'water_level' AND id > ?", (ids["sos"],))
            readings_after_it = int(after.fetchone()[0])
        # Stored once the slice it was heard in (100 readings) was, ahead of the other 900.
        assert readings_after_it == 900
    finally:
        gw.stop()
