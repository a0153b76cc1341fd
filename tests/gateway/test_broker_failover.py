"""A gateway with a list of brokers: when its node of the NATS cluster dies it moves on, losing nothing."""

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from central.core.config import CentralSettings
from central.service import CentralService
from edge_nodes.fleet import ButtonSite, StationSite, build_fleet
from floodmesh.broker import settings_fields
from floodmesh.nats_cluster import NatsCluster, start_nats_cluster
from gateway.broker_failover import BrokerFailover, parse_brokers
from gateway.config import GatewaySettings
from gateway.radio.sim import Air, SimRadioLink
from gateway.service import GatewayService
from protocol import frames
from protocol.mqtt_endpoint import EndpointError, MqttEndpoint
from protocol.registry import NodeRegistry
from tests.mqtt_peer import wait_until

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


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[NatsCluster]:
    running = start_nats_cluster(tmp_path / "nats", gateways=[(WARD, GW)])
    yield running
    running.stop()


def _registry() -> NodeRegistry:
    return build_fleet([StationSite("kim_long", WARD, 16.41667, 107.5667)], [ButtonSite(WARD)] * SOS,
                       sensors_per_station=6, demo_secret=b"failover")


def _stored(db: Path, table: str) -> list[tuple[int, int, int]]:
    with sqlite3.connect(db) as conn:
        return [tuple(r) for r in conn.execute(f"SELECT node_id, boot_epoch, seq FROM {table}")]  # type: ignore[misc]  # noqa: S608


def _send(air: Air, registry: NodeRegistry, first: int, count: int) -> set[tuple[int, int, int]]:
    sensors = [r for r in registry if r.kind == "water_level"]
    sent = set()
    for i in range(first, first + count):
        rec = sensors[i % len(sensors)]
        frame = frames.Frame(rec.node_id, 1, i // len(sensors), 1_764_000_000 + i, frames.WaterLevel(6000, 80))
        air.transmit(rec.node_id, frames.encode(frame, rec.key))
        sent.add(frame.event_id)
    return sent


def _sos(air: Air, registry: NodeRegistry) -> set[tuple[int, int, int]]:
    sent = set()
    for button in (r for r in registry if r.kind == "sos_button"):
        frame = frames.Frame(button.node_id, 1, 1, 1_764_000_500, frames.Sos(2, 3))
        air.transmit(button.node_id, frames.encode(frame, button.key))
        sent.add(frame.event_id)
    return sent


@pytest.mark.integration
def test_gateway_fails_over_when_its_node_is_killed_and_loses_nothing(tmp_path: Path, cluster: NatsCluster) -> None:
    registry = _registry()
    registry.save(tmp_path / "nodes.json")
    db = tmp_path / "central.db"
    central = CentralService(CentralSettings(db_path=db, registry_path=tmp_path / "nodes.json", api_port=0,
                                             allow_demo_registry=True,
                                             **settings_fields(cluster.endpoint_for_central(2))))
    central.start()
    failover = ",".join(f"{e.host}:{e.port}" for e in cluster.endpoints_for(GW)[1:])
    settings = GatewaySettings(WARD, GW, tmp_path / "outbox.db", **settings_fields(cluster.endpoint_for(GW, 0)),
                               broker_failover=failover, retry_s=5)
    air = Air()
    gw = GatewayService(settings, SimRadioLink(air, 0x0F000001), registry)
    gw.start()
    try:
        wait_until(lambda: gw.stats()["connected"] is True, what="gateway on node 1")
        readings = _send(air, registry, 0, READINGS // 2)
        wait_until(lambda: len(_stored(db, "readings")) > 0, what="readings flowing")
        cluster.kill(0)  # mid-stream: some acknowledged, some in flight, some not yet sent
        readings |= _send(air, registry, READINGS // 2, READINGS // 2)
        sos = _sos(air, registry)
        wait_until(lambda: len(_stored(db, "readings")) >= READINGS and len(_stored(db, "cases")) >= SOS,
                   timeout_s=60, what="every reading and SOS at central after the failover")
        assert sorted(_stored(db, "readings")) == sorted(readings)  # each exactly once
        assert sorted(_stored(db, "cases")) == sorted(sos)
        wait_until(lambda: gw.stats()["outbox_pending"] == 0, what="the outbox drained by central's acks")
        stats = gw.stats()
        assert stats["broker_switches"] >= 1
        assert str(stats["broker"]).endswith(f":{cluster.nodes[1].ports.mqtt}")
    finally:
        gw.stop()
        central.stop()
