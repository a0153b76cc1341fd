"""TelemetryWriter: the time-series store off the SOS path (bounded queue, retry with backoff, counted drops)."""

import json
import queue
import threading
import time
import urllib.request
from collections.abc import Iterator, Sequence
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest

from central.core.config import CentralSettings
from central.geo.ward_locator import WardLocator
from central.ingest.mqtt_ingest import MqttIngest
from central.ingest.processor import UplinkProcessor
from central.service import CentralService
from central.store.base import CentralStore
from central.store.sqlite import SqliteStore
from central.store.telemetry import LevelPoint
from central.store.telemetry_writer import DROPPED_AT_STOP, DROPPED_QUEUE_FULL, TelemetryWriter
from central.telemetry.stations import Station
from floodmesh.broker import RunningBroker, free_port, settings_fields
from protocol import topics
from protocol.registry import NodeRegistry
from tests.central.central_testkit import BUTTON_ID, GATEWAY, WARD, make_uplink, vector_hex
from tests.mqtt_peer import stand_in_gateway, wait_until


def point(t: int) -> LevelPoint:
    return LevelPoint("kim_long", "Sông Hương", "19813", 1, t, 1.0, 7000, 90, 1, 0)


class GatedStore:
    """A time-series store at the I/O edge whose writes wait for ``gate`` (a server that hangs)."""

    name = "gated"

    def __init__(self, fail_first: int = 0) -> None:
        self.gate = threading.Event()
        self.entered = threading.Event()
        self.points: list[LevelPoint] = []
        self.closed = False
        self._fail_first = fail_first

    def write(self, points: Sequence[LevelPoint]) -> None:
        self.entered.set()
        self.gate.wait()
        if self._fail_first > 0:
            self._fail_first -= 1
            raise ConnectionError("server unavailable")
        self.points.extend(points)

    def close(self) -> None:
        self.closed = True


@pytest.mark.unit
def test_write_returns_at_once_and_every_point_arrives_once_the_store_unblocks() -> None:
    store = GatedStore()
    writer = TelemetryWriter(store, chunk=4)
    t0 = time.monotonic()
    for t in range(10):
        writer.write([point(t)])
    assert time.monotonic() - t0 < 0.5  # nothing waited on the hung store
    assert store.entered.wait(5)
    assert writer.status().queued == 10
    store.gate.set()
    assert writer.wait_idle(10)
    writer.close()
    assert [p.t for p in store.points] == list(range(10))
    assert (writer.status().written, writer.status().dropped, store.closed) == (10, {}, True)


@pytest.mark.unit
def test_a_full_queue_drops_and_counts_what_does_not_fit() -> None:
    store = GatedStore()
    counted: list[tuple[str, int]] = []
    writer = TelemetryWriter(store, capacity=3, on_dropped=lambda reason, n: counted.append((reason, n)))
    writer.write([point(0)])
    assert store.entered.wait(5)  # one point in hand, two places left
    writer.write([point(1), point(2), point(3), point(4)])
    assert counted == [(DROPPED_QUEUE_FULL, 2)]
    assert writer.status().dropped == {DROPPED_QUEUE_FULL: 2}
    store.gate.set()
    writer.close()
    assert [p.t for p in store.points] == [0, 1, 2]


@pytest.mark.unit
def test_failed_writes_are_retried_with_backoff_until_they_succeed() -> None:
    store = GatedStore(fail_first=3)
    store.gate.set()
    writer = TelemetryWriter(store, backoff_s=(0.01, 0.04))
    writer.write([point(1), point(2)])
    assert writer.wait_idle(10)
    writer.close()
    assert [p.t for p in store.points] == [1, 2]
    assert writer.status().failed_writes == 3
    assert writer.status().dropped == {}


@pytest.mark.unit
def test_stop_flushes_for_a_while_then_counts_what_the_store_still_refuses() -> None:
    store = GatedStore(fail_first=1_000_000)
    store.gate.set()
    counted: list[tuple[str, int]] = []
    writer = TelemetryWriter(store, chunk=2, backoff_s=(0.01, 0.02), on_dropped=lambda r, n: counted.append((r, n)))
    writer.write([point(t) for t in range(5)])
    writer.close(flush_s=0.2)
    assert counted == [(DROPPED_AT_STOP, 5)]
    assert store.points == []
    assert store.closed


@pytest.fixture
def gateway_inbox(mosquitto: RunningBroker) -> Iterator[tuple[mqtt.Client, "queue.Queue[mqtt.MQTTMessage]"]]:
    """A stand-in gateway with its own identity, subscribed to its downlinks and app acks."""
    client, inbox = stand_in_gateway(mosquitto, WARD, GATEWAY)
    yield client, inbox
    client.disconnect()
    client.loop_stop()


@pytest.mark.integration
def test_sos_ack_is_published_while_the_time_series_store_hangs(
    mosquitto: RunningBroker, gateway_inbox: tuple[mqtt.Client, "queue.Queue[mqtt.MQTTMessage]"],
    registry: NodeRegistry, locator: WardLocator, stations: dict[str, Station], store: CentralStore,
) -> None:
    client, inbox = gateway_inbox
    hung = GatedStore()
    writer = TelemetryWriter(hung)
    processor = UplinkProcessor(registry, locator, stations, store, telemetry=writer)
    ingest = MqttIngest(processor, mosquitto.endpoint_for_central(), client_id="central-writer-test")
    ingest.start()
    try:
        wait_until(lambda: ingest.connected, what="central connected")
        subscribed_at = time.monotonic()
        while True:  # central's SUBACK: a reading it has processed says it is subscribed
            client.publish(*make_uplink(vector_hex("water_level_kim_long"), 1), qos=1)
            if hung.entered.wait(0.2) or time.monotonic() - subscribed_at > 10:
                break
        assert hung.entered.is_set(), "the reading never reached the time-series store"
        client.publish(*make_uplink(vector_hex("sos_trapped_no_gps"), 41), qos=1)
        got = {inbox.get(timeout=10).topic for _ in range(2)}  # while the store still hangs (asserted below)
        assert got == {topics.downlink(WARD, GATEWAY, BUTTON_ID), topics.app_ack(WARD, GATEWAY)}
        assert len(store.cases()) == 1
        assert not hung.gate.is_set()
        hung.gate.set()
        assert writer.wait_idle(10)
    finally:
        ingest.stop()
        writer.close()
    assert len(hung.points) == 1  # the reading (its replays are duplicates: no second point)


@pytest.mark.integration
def test_points_central_cannot_keep_are_counted_in_api_stats(
    tmp_path: Path, mosquitto: RunningBroker, registry: NodeRegistry,
) -> None:
    registry.save(tmp_path / "registry.json")
    token = tmp_path / "influx-token"
    token.write_text("t0ken\n", encoding="utf-8")
    settings = CentralSettings(
        db_path=tmp_path / "central.sqlite", registry_path=tmp_path / "registry.json",
        **settings_fields(mosquitto.endpoint_for_central()), api_port=0, client_id="central-drop-test",
        telemetry_backend="influx",
        influx_url=f"http://127.0.0.1:{free_port()}", influx_token_file=token,  # nobody listens there
        telemetry_queue_points=1, telemetry_flush_s=0.5,
    )
    service = CentralService(settings)
    service.start()
    try:
        assert service.telemetry is not None
        points = [point(t) for t in range(4)]
        service.telemetry.write(points[:1])
        wait_until(lambda: service.telemetry is not None and service.telemetry.status().failed_writes >= 1,
                   what="a failed write")
        service.telemetry.write(points[1:])  # the queue holds one point: three are dropped and counted
        with urllib.request.urlopen(service.api_url + "/api/stats", timeout=5) as resp:  # noqa: S310 - loopback
            stats = json.load(resp)
    finally:
        service.stop()
    assert stats["telemetry_dropped_by_reason"] == {DROPPED_QUEUE_FULL: 3}
    reopened = SqliteStore(settings.db_path)
    try:
        assert reopened.stats().telemetry_dropped_by_reason == {DROPPED_QUEUE_FULL: 3, DROPPED_AT_STOP: 1}
    finally:
        reopened.close()
