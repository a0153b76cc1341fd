"""A gateway against a central slower than its backlog: goodput holds, and an SOS still goes first.

A deliberately slow consumer stands in for central: it takes the gateway's uplinks from a real
Mosquitto, "processes" them at a fixed number of frames per second, and acknowledges each message
afterwards, as central's ingest does (protocol/envelopes.py ``AppAck`` on ``topics.app_ack``).
"""

import queue
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from floodmesh.broker import RunningBroker, settings_fields
from gateway.outbox import InboundFrame, Outbox
from gateway.radio.sim import Air, SimRadioLink
from gateway.service import GatewayService, GatewaySettings
from protocol import frames, topics
from protocol.envelopes import AppAck, Uplink, UplinkBatch
from protocol.registry import NodeRecord, NodeRegistry
from tests.mqtt_peer import wait_until

pytestmark = pytest.mark.integration

WARD, GW = "19774", "gw-19774"
BACKLOG_SENSOR, LIVE_SENSOR, BUTTON = 0x0A000001, 0x0A000002, 0x0B000001
KEY_S, KEY_B = b"s" * 16, b"b" * 16


# --- how the test reaches the broker: the one place to change for TLS and passwords -----------------


def _gateway_settings(broker: RunningBroker, outbox: Path, **tuning: Any) -> GatewaySettings:
    return GatewaySettings(WARD, GW, outbox, **settings_fields(broker.add_gateway(WARD, GW)), **tuning)


def _central_client(broker: RunningBroker, client_id: str) -> mqtt.Client:
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id)
    endpoint = broker.endpoint_for_central()
    endpoint.configure(client)
    client.connect_async(endpoint.host, endpoint.port)
    return client


# --- a slow central -----------------------------------------------------------------------------------


class SlowCentral:
    """Receives uplinks, works through them at ``frames_per_s`` (None: at once), acks each message
    afterwards; records every msg_id it sees, repeats included, and the topics in arrival order."""

    def __init__(self, broker: RunningBroker, frames_per_s: float | None) -> None:
        self.seen: Counter[int] = Counter()
        self.arrivals: list[str] = []
        self.acked = 0  # msg ids acknowledged (counted as the ack is sent)
        self.acking = threading.Event()
        self.acking.set()
        self._per_frame_s = 0.0 if frames_per_s is None else 1.0 / frames_per_s
        self._inbox: queue.Queue[tuple[str, bytes]] = queue.Queue()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._subscribed = threading.Event()
        self._worker = threading.Thread(target=self._work, name="slow-central", daemon=True)
        self.client = _central_client(broker, "slow-central")
        self.client.on_connect = lambda c, *_: c.subscribe(topics.UPLINK_FILTER, qos=1)
        self.client.on_subscribe = lambda *_: self._subscribed.set()
        self.client.on_message = self._on_message
        self.client.loop_start()
        if not self._subscribed.wait(10):
            raise TimeoutError("the slow central could not subscribe: is the broker up?")
        self._worker.start()

    def _on_message(self, _c: mqtt.Client, _u: object, msg: mqtt.MQTTMessage) -> None:
        with self._lock:
            self.arrivals.append(msg.topic)
        self._inbox.put((msg.topic, bytes(msg.payload)))

    def _work(self) -> None:
        busy_until = time.monotonic()
        while not self._stop.is_set():
            try:
                topic, payload = self._inbox.get(timeout=0.05)
            except queue.Empty:
                continue
            ids = self._msg_ids(topic, payload)
            with self._lock:
                self.seen.update(ids)
            if not self.acking.is_set():
                continue
            # The work this message costs central; waiting on the stop event keeps shutdown prompt.
            busy_until = max(busy_until, time.monotonic()) + len(ids) * self._per_frame_s
            self._stop.wait(max(0.0, busy_until - time.monotonic()))
            with self._lock:
                self.acked += len(ids)
            self.client.publish(topics.app_ack(WARD, GW), AppAck(msg_ids=ids).model_dump_json(), qos=1)

    @staticmethod
    def _msg_ids(topic: str, payload: bytes) -> list[int]:
        if topic.endswith("/batch"):
            return [item.msg_id for item in UplinkBatch.model_validate_json(payload).items]
        if topic.endswith("/case_events"):
            return []
        return [Uplink.model_validate_json(payload).msg_id]

    def frames_seen(self) -> int:
        """Frames received, repeats included."""
        with self._lock:
            return sum(self.seen.values())

    def topics_since(self, start: int) -> list[str]:
        """Topics of the messages that arrived after the first ``start``."""
        with self._lock:
            return self.arrivals[start:]

    def close(self) -> None:
        """Stop working and disconnect."""
        self._stop.set()
        self._worker.join(10)
        self.client.disconnect()
        self.client.loop_stop()


# --- the gateway ---------------------------------------------------------------------------------------


def _reading(node: int, seq: int) -> bytes:
    return frames.encode(frames.Frame(node, 1, seq, 1_700_000_000 + seq, frames.WaterLevel(5000, 90)), KEY_S)


def _backlog(path: Path, readings: int) -> None:
    """Readings stored while the backhaul was down: the outbox a reconnecting gateway drains."""
    outbox = Outbox(path)
    stored_at = "2026-11-25T00:00:00+00:00"
    outbox.add([InboundFrame(BACKLOG_SENSOR, "water_level", _reading(BACKLOG_SENSOR, seq), stored_at, -90, 7.5)
                for seq in range(readings)])
    outbox.close()


@pytest.fixture
def registry() -> NodeRegistry:
    return NodeRegistry([NodeRecord(BACKLOG_SENSOR, "water_level", KEY_S, WARD),
                         NodeRecord(LIVE_SENSOR, "water_level", KEY_S, WARD),
                         NodeRecord(BUTTON, "sos_button", KEY_B, WARD)])


@pytest.fixture
def air() -> Air:
    return Air()


def _start(settings: GatewaySettings, air: Air, registry: NodeRegistry) -> GatewayService:
    gw = GatewayService(settings, SimRadioLink(air, 0x0F000001), registry)
    gw.start()
    return gw


@pytest.mark.slow
def test_goodput_holds_when_central_is_slower_than_the_backlog(
    tmp_path: Path, mosquitto: RunningBroker, air: Air, registry: NodeRegistry
) -> None:
    backlog, live, capacity = 16_000, 4_000, 2_000.0  # frames; central does 2,000 frames/s
    _backlog(tmp_path / "outbox.db", backlog)
    central = SlowCentral(mosquitto, frames_per_s=capacity)
    # retry_s 1 s: the whole backlog is 10 s of central's work, ten times the retry time.
    gw = _start(_gateway_settings(mosquitto, tmp_path / "outbox.db", retry_s=1.0), air, registry)
    started = time.monotonic()
    try:
        for seq in range(live):  # the river keeps reporting while the backlog drains
            air.transmit(LIVE_SENSOR, _reading(LIVE_SENSOR, seq))
        wait_until(lambda: gw.stats()["outbox_pending"] == 0, timeout_s=90, what="the outbox drained")
        elapsed = time.monotonic() - started
        readings = backlog + live
        duplicates = central.frames_seen() - readings
        stats = gw.stats()
        print(f"\n{readings} readings in {elapsed:.1f} s ({readings / elapsed:.0f}/s, central does {capacity:.0f}/s);"
              f" {duplicates} duplicates; window {stats['window']}, resent {stats['resent']}")
        assert len(central.seen) == readings
        assert duplicates <= readings // 100
        assert readings / elapsed >= 0.6 * capacity
    finally:
        gw.stop()
        central.close()


def test_an_sos_overtakes_20000_readings_pending_and_in_flight(
    tmp_path: Path, mosquitto: RunningBroker, air: Air, registry: NodeRegistry
) -> None:
    _backlog(tmp_path / "outbox.db", 20_000)
    central = SlowCentral(mosquitto, frames_per_s=None)
    gw = _start(_gateway_settings(mosquitto, tmp_path / "outbox.db", retry_s=120.0), air, registry)
    try:
        # Central keeps up until the window has grown, then falls silent: the window fills and stays full.
        wait_until(lambda: int(str(gw.stats()["window"])) >= 3200, what="the window grown by slow start")
        central.acking.clear()
        # Acks already on their way open the window once more: let them land before judging it full.
        wait_until(lambda: gw.stats().get("acked", 0) == central.acked, what="the acks in transit taken")
        wait_until(lambda: gw.stats()["in_flight"] >= gw.stats()["window"], what="the window full")
        wait_until(lambda: central.frames_seen() == gw.stats()["published"], what="everything published arrived")
        in_flight, pending = int(str(gw.stats()["in_flight"])), int(str(gw.stats()["outbox_pending"]))
        assert in_flight >= 3200
        assert pending > 10_000
        before = len(central.topics_since(0))
        sos = frames.encode(frames.Frame(BUTTON, 1, 1, 1_700_000_500, frames.Sos(1, 2)), KEY_B)
        air.transmit(BUTTON, sos)
        wait_until(lambda: len(central.topics_since(before)) >= 1, what="the SOS at central")
        assert central.topics_since(before) == [topics.uplink(WARD, GW, "sos")]
        assert gw.stats()["in_flight"] == in_flight + 1  # the SOS rode outside the full window
    finally:
        gw.stop()
        central.close()
