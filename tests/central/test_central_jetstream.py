"""Central replicas on the NATS tier: one JetStream work queue shared by all, a node killed mid-stream."""

from collections.abc import Iterator
from pathlib import Path

import pytest

from central.core.config import CentralSettings
from central.ingest.jetstream_uplinks import parse_servers, subject_to_topic
from central.service import CentralService
from edge_nodes.fleet import ButtonSite, StationSite, build_fleet
from floodmesh.broker import settings_fields
from floodmesh.nats_cluster import NatsCluster, start_nats_cluster
from gateway.config import GatewaySettings
from gateway.radio.sim import Air, SimRadioLink
from gateway.service import GatewayService
from protocol import frames, topics
from protocol.registry import NodeRegistry
from tests.central.replica_testkit import send, stored, wait_stored
from tests.mqtt_peer import MqttPeer, wait_until

WARD, GW = "19813", "gw-19813"
READINGS, SOS, ROUND = 400, 4, 20


@pytest.mark.unit
def test_subjects_and_server_lists() -> None:
    assert subject_to_topic("floodmesh.v1.19813.gw-1.up.sos") == "floodmesh/v1/19813/gw-1/up/sos"
    assert parse_servers("tls://a:4222, tls://b:4223") == ("tls://a:4222", "tls://b:4223")
    with pytest.raises(ValueError, match="tls://HOST:PORT"):
        parse_servers("a:4222")


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[NatsCluster]:
    running = start_nats_cluster(tmp_path / "nats", gateways=[(WARD, GW)])
    yield running
    running.stop()


def _registry() -> NodeRegistry:
    return build_fleet([StationSite("kim_long", WARD, 16.41667, 107.5667)], [ButtonSite(WARD)] * SOS,
                       sensors_per_station=8, demo_secret=b"jetstream")


def _replica(tmp_path: Path, name: str, cluster: NatsCluster, postgres_url: str) -> CentralService:
    service = CentralService(CentralSettings(
        database_url=postgres_url, db_path=tmp_path / f"{name}.db", registry_path=tmp_path / "nodes.json",
        api_port=0, allow_demo_registry=True, client_id=name, nats_servers=cluster.nats_servers(),
        **settings_fields(cluster.endpoint_for_central(2))))
    service.start()
    return service


@pytest.mark.integration
def test_replicas_share_the_work_queue_and_survive_a_node(
    tmp_path: Path, cluster: NatsCluster, postgres_url: str,
) -> None:
    registry = _registry()
    registry.save(tmp_path / "nodes.json")
    replicas = [_replica(tmp_path, f"central-{n}", cluster, postgres_url) for n in range(2)]
    failover = ",".join(f"{e.host}:{e.port}" for e in cluster.endpoints_for(GW)[1:])
    settings = GatewaySettings(WARD, GW, tmp_path / "outbox.db", **settings_fields(cluster.endpoint_for(GW, 0)),
                               broker_failover=failover, retry_s=5)
    air = Air()
    gw = GatewayService(settings, SimRadioLink(air, 0x0F000001), registry)
    observer: MqttPeer | None = None
    try:
        for replica in replicas:
            assert replica.jetstream is not None
            assert replica.jetstream.wait_ready(30)
        observer = MqttPeer(cluster.endpoint_for_central(1), topics.UPLINK_FILTER, "observer")
        gw.start()
        wait_until(lambda: gw.stats()["connected"] is True, what="gateway online")
        readings: set[tuple[int, int, int]] = set()
        for first in range(0, READINGS // 2, ROUND):  # rounds: several messages for the queue to share
            readings |= send(air, registry, first, ROUND)
            wait_stored(postgres_url, first + ROUND)
        received = [r.jetstream.received for r in replicas if r.jetstream is not None]
        assert all(n > 0 for n in received)  # both replicas took a share ...
        wait_until(lambda: sum(r.jetstream.received for r in replicas if r.jetstream) == len(observer.snapshot()),
                   what="as many messages taken as the gateway published")  # each went to one of them
        cluster.kill(0)  # the gateway's node, mid-stream
        readings |= send(air, registry, READINGS // 2, READINGS // 2)
        sos = {frames.Frame(b.node_id, 1, 1, 1_764_000_500, frames.Sos(2, 3)).event_id
               for b in registry if b.kind == "sos_button"}
        for button in (r for r in registry if r.kind == "sos_button"):
            air.transmit(button.node_id, frames.encode(frames.Frame(button.node_id, 1, 1, 1_764_000_500,
                                                                    frames.Sos(2, 3)), button.key))
        wait_until(lambda: len(stored(postgres_url, "readings")) >= READINGS
                   and len(stored(postgres_url, "cases")) >= SOS, timeout_s=60, what="everything stored")
        assert sorted(stored(postgres_url, "readings")) == sorted(readings)
        assert sorted(stored(postgres_url, "cases")) == sorted(sos)
        wait_until(lambda: gw.stats()["outbox_pending"] == 0, timeout_s=30, what="the gateway's outbox drained")
        assert int(str(gw.stats()["broker_switches"])) >= 1  # it moved to another node (broker_failover)
    finally:
        gw.stop()
        if observer is not None:
            observer.close()
        for replica in replicas:
            replica.stop()
