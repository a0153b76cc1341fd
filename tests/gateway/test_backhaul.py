"""Backhaul failures while thousands of frames arrive: all delivered, SOS first, nothing twice."""

import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from central.core.config import CentralSettings
from central.service import CentralService
from edge_nodes.fleet import ButtonSite, StationSite, build_fleet
from floodmesh.broker import RunningBroker, settings_fields, start_broker
from gateway.radio.sim import Air, SimRadioLink
from gateway.service import GatewayService, GatewaySettings
from protocol import frames, topics
from protocol.registry import NodeRegistry
from simulations.backhaul import BackhaulLink
from tests.mqtt_peer import MqttPeer, wait_until

pytestmark = [pytest.mark.integration, pytest.mark.slow]

WARD, GW = "19813", "gw-19813"
READINGS, SOS = 3000, 5


@dataclass
class World:
    registry: NodeRegistry
    central: CentralService
    db: Path


def _registry() -> NodeRegistry:
    return build_fleet([StationSite("kim_long", WARD, 16.41667, 107.5667)], [ButtonSite(WARD)] * SOS,
                       sensors_per_station=10, demo_secret=b"backhaul")


def _central(tmp_path: Path, broker: RunningBroker, registry: NodeRegistry) -> World:
    registry.save(tmp_path / "nodes.json")
    db = tmp_path / "central.db"
    central = CentralService(CentralSettings(db_path=db, registry_path=tmp_path / "nodes.json",
                                             **settings_fields(broker.endpoint_for_central()), api_port=0,
                                             allow_demo_registry=True))
    central.start()
    return World(registry, central, db)


def _burst(air: Air, registry: NodeRegistry) -> tuple[set[tuple[int, int, int]], set[tuple[int, int, int]]]:
    """Thousands of readings with a few SOS among them, as the radio hands them over."""
    sensors = [r for r in registry if r.kind == "water_level"]
    buttons = [r for r in registry if r.kind == "sos_button"]
    readings, sos = set(), set()
    for i in range(READINGS):
        rec = sensors[i % len(sensors)]
        frame = frames.Frame(rec.node_id, 1, i // len(sensors), 1_764_000_000 + i, frames.WaterLevel(6000, 80))
        air.transmit(rec.node_id, frames.encode(frame, rec.key))
        readings.add(frame.event_id)
        if i % (READINGS // SOS) == READINGS // SOS - 1:
            b = buttons[len(sos)]
            s = frames.Frame(b.node_id, 1, 1, 1_764_000_000 + i, frames.Sos(2, 3))
            air.transmit(b.node_id, frames.encode(s, b.key))
            sos.add(s.event_id)
    return readings, sos


def _central_readings(db: Path) -> list[tuple[int, int, int]]:
    with sqlite3.connect(db) as conn:
        return [tuple(r) for r in conn.execute("SELECT node_id, boot_epoch, seq FROM readings")]  # type: ignore[misc]


def _central_cases(db: Path) -> list[tuple[int, int, int]]:
    with sqlite3.connect(db) as conn:
        return [tuple(r) for r in conn.execute("SELECT node_id, boot_epoch, seq FROM cases")]  # type: ignore[misc]


def _delivered(world: World, readings: set[tuple[int, int, int]], sos: set[tuple[int, int, int]]) -> None:
    wait_until(lambda: len(_central_readings(world.db)) >= len(readings), timeout_s=120, what="every reading")
    got = _central_readings(world.db)
    assert sorted(got) == sorted(readings)  # all of them, each once
    wait_until(lambda: len(_central_cases(world.db)) == len(sos), what="every SOS a case")
    assert set(_central_cases(world.db)) == sos


def _sos_first(observer: MqttPeer) -> None:
    leaves = [t.rsplit("/", 1)[1] for t, _p in observer.snapshot()]
    first_batch = leaves.index("batch")
    assert leaves[:first_batch].count("sos") == SOS, leaves[:12]


@pytest.fixture
def restartable_broker(tmp_path: Path) -> Iterator[RunningBroker]:
    broker = start_broker(tmp_path / "broker", prefer="mosquitto")
    yield broker
    broker.stop()


def test_broker_stopped_during_a_burst(tmp_path: Path, restartable_broker: RunningBroker) -> None:
    broker = restartable_broker
    world = _central(tmp_path, broker, _registry())
    # The gateway reaches the broker through a proxy only so that the test can hold its reconnection
    # until an observer is listening; the proxy forwards bytes untouched.
    proxy = BackhaulLink(broker.host, broker.port)
    air = Air()
    via_proxy = settings_fields(broker.add_gateway(WARD, GW)) | {"broker_host": "127.0.0.1", "broker_port": proxy.port}
    settings = GatewaySettings(WARD, GW, tmp_path / "outbox.db", **via_proxy, retry_s=5)
    gw = GatewayService(settings, SimRadioLink(air, 0x0F000001), world.registry)
    gw.start()
    restarted: RunningBroker | None = None
    try:
        wait_until(lambda: gw.stats()["connected"] is True, what="gateway online")
        proxy.refuse = True
        broker.kill()  # the IOC's broker dies mid-flood
        wait_until(lambda: gw.stats()["connected"] is False, what="gateway to notice")
        readings, sos = _burst(air, world.registry)
        wait_until(lambda: gw.stats().get("stored") == READINGS + SOS, what="all frames in the outbox")
        # Same directory: the restarted broker keeps its CA and every identity, as a real one would.
        restarted = start_broker(tmp_path / "broker", prefer="mosquitto", port=broker.port)
        observer = MqttPeer(restarted.endpoint_for_central(), topics.UPLINK_FILTER, "observer")
        proxy.refuse = False
        try:
            _delivered(world, readings, sos)
            _sos_first(observer)
            wait_until(lambda: gw.stats()["outbox_pending"] == 0, what="the outbox drained")
        finally:
            observer.close()
    finally:
        gw.stop()
        world.central.stop()
        proxy.close()
        if restarted is not None:
            restarted.stop()


def test_a_backhaul_that_blackholes_without_closing(tmp_path: Path, mosquitto: RunningBroker) -> None:
    world = _central(tmp_path, mosquitto, _registry())
    proxy = BackhaulLink(mosquitto.host, mosquitto.port)
    air = Air()
    via_proxy = settings_fields(mosquitto.add_gateway(WARD, GW)) | {"broker_host": "127.0.0.1",
                                                                     "broker_port": proxy.port}
    settings = GatewaySettings(WARD, GW, tmp_path / "outbox.db", **via_proxy, retry_s=5, keepalive_s=2)
    gw = GatewayService(settings, SimRadioLink(air, 0x0F000001), world.registry)
    gw.start()
    try:
        wait_until(lambda: gw.stats()["connected"] is True, what="gateway online")
        proxy.blackhole = True
        readings, sos = _burst(air, world.registry)
        wait_until(lambda: gw.stats()["connected"] is False, timeout_s=30, what="the dead link noticed by keepalive")
        observer = MqttPeer(mosquitto.endpoint_for_central(), topics.UPLINK_FILTER, "observer")
        proxy.blackhole = False
        try:
            _delivered(world, readings, sos)
            _sos_first(observer)
        finally:
            observer.close()
    finally:
        gw.stop()
        world.central.stop()
        proxy.close()
