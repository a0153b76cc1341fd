"""The NATS tier on hosts of their own (deploy/ioc-cluster.yml): configs from floodmesh's records, run for real.

Three loopback addresses (127.0.0.1-3) stand in for three hosts: every node on the same ports, each
reaching its peers by address, exactly as the containers nats-1..3 do by name."""

import socket
import subprocess
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import yaml

from floodmesh.broker_auth import BrokerAuth, gateway_identity
from floodmesh.cli import main
from floodmesh.nats_cluster import find_nats_server, healthy
from floodmesh.nats_config import NatsConfigError
from floodmesh.nats_deploy import STANDARD_PORTS, Deployment, client_flags, write_deployment
from protocol import topics
from protocol.mqtt_endpoint import MqttEndpoint
from tests.mqtt_peer import MqttPeer, wait_until

ROOT = Path(__file__).resolve().parents[2]
HOSTS = ("127.0.0.1", "127.0.0.2", "127.0.0.3")
WARD, GW = "19774", "gw-19774"


def _free_everywhere() -> int:
    """A port free on all three addresses (each node binds the same one, as on hosts of their own)."""
    for _ in range(50):
        with socket.socket() as probe:
            probe.bind((HOSTS[0], 0))
            port = int(probe.getsockname()[1])
        try:
            for host in HOSTS[1:]:
                with socket.socket() as other:
                    other.bind((host, port))
        except OSError:
            continue
        return port
    raise RuntimeError("no port free on 127.0.0.1-3")


@pytest.fixture(scope="module")
def deployed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    binary = find_nats_server()
    if binary is None:
        pytest.fail("nats-server is not installed: scripts/setup.sh installs it (apt-get install nats-server)")
    directory = tmp_path_factory.mktemp("ioc-broker")
    ports = replace(STANDARD_PORTS, client=_free_everywhere(), mqtt=_free_everywhere(), route=_free_everywhere(),
                    monitor=_free_everywhere())
    deployment = Deployment(directory, HOSTS, mount=directory, store_dir=str(directory / "{address}" / "js"),
                            listen="{address}", ports=ports)  # one machine: each node on its own address
    write_deployment(deployment)  # the CA and central first, as `broker init` would
    BrokerAuth(directory).add(gateway_identity(WARD, GW))
    write_deployment(deployment)  # and again after add-gateway, as the README says
    nodes = []
    try:
        for host in HOSTS:
            config = deployment.config_path(host)
            with (directory / f"{host}.log").open("wb") as log:  # the child keeps its own descriptor
                nodes.append(subprocess.Popen([binary, "-c", str(config)], stdout=log, stderr=subprocess.STDOUT))
        wait_until(lambda: all(healthy(h, ports.monitor) for h in HOSTS), timeout_s=60,
                   what=f"three NATS nodes with JetStream ready (logs in {directory})")
        yield deployment
    finally:
        for node in nodes:
            node.terminate()
        for node in nodes:
            node.wait(timeout=20)


def _endpoint(d: Deployment, username: str, host: str) -> MqttEndpoint:
    return MqttEndpoint(host, d.ports.mqtt, username, BrokerAuth(d.directory).password(username),
                        d.directory / "ca.crt")


@pytest.mark.integration
def test_nodes_on_their_own_hosts_form_one_tier(deployed: Deployment) -> None:
    # Central keeps a persistent session on the first node; a gateway publishes QoS 1 on the third.
    central = MqttPeer(_endpoint(deployed, "central", HOSTS[0]), topics.UPLINK_FILTER, "central-deploy",
                       clean_session=False)
    gateway = MqttPeer(_endpoint(deployed, GW, HOSTS[2]), topics.app_ack(WARD, GW), "gw-deploy")
    try:
        for n in range(3):
            gateway.publish(topics.uplink(WARD, GW, "sos"), f"sos-{n}")
        wait_until(lambda: len(central.snapshot()) >= 3, what="the gateway's uplinks through the routes")
        assert sorted(p for _t, p in central.snapshot()) == [b"sos-0", b"sos-1", b"sos-2"]
    finally:
        gateway.close()
        central.close()


@pytest.mark.integration
def test_deployed_configs_are_private_and_name_their_peers(deployed: Deployment) -> None:
    for host in HOSTS:
        path = deployed.config_path(host)
        assert path.stat().st_mode & 0o077 == 0  # route password and password hashes inside
        text = path.read_text()
        assert f"server_name: n{HOSTS.index(host) + 1}" in text
        peers = {h for h in HOSTS if h != host}
        assert {h for h in HOSTS if f"@{h}:{deployed.ports.route}" in text} == peers


@pytest.mark.unit
def test_fewer_than_three_nodes_is_refused_with_what_to_do(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(NatsConfigError, match="3 or more"):
        write_deployment(Deployment(tmp_path, ("a", "b")))
    assert main(["broker", "cluster-config", "--dir", str(tmp_path), "--node", "a", "--node", "a", "--node", "b"]) == 2
    assert "3 or more distinct" in capsys.readouterr().err


# --- deploy/ioc-cluster.yml (no Docker engine here: its structure against what floodmesh writes) ----------------


@pytest.fixture(scope="module")
def cluster_compose() -> dict[str, Any]:
    doc = yaml.safe_load((ROOT / "deploy" / "ioc-cluster.yml").read_text())
    assert isinstance(doc, dict)
    return doc


def _flag(command: str, name: str) -> str:
    words = command.split()
    return words[words.index(name) + 1]


@pytest.mark.unit
def test_compose_nodes_run_the_configs_cluster_config_writes(cluster_compose: dict[str, Any]) -> None:
    services = cluster_compose["services"]
    nodes = sorted(name for name in services if name.startswith("nats-"))
    assert nodes == ["nats-1", "nats-2", "nats-3"]
    deployment = Deployment(ROOT / "deploy" / "ioc-broker", tuple(nodes))
    for name in nodes:
        svc = services[name]
        assert svc["command"] == ["-c", str(deployment.mounted_config(name))]
        mounted = {v.split(":")[1]: v.split(":")[0] for v in svc["volumes"] if v.startswith("./")}
        assert mounted[str(deployment.mounted_config(name))] == f"./ioc-broker/nats/{name}.conf"
        assert not any(src.endswith("ca.key") for src in mounted.values())  # a node never holds the CA's key
        assert all(v.endswith(":ro") for v in svc["volumes"] if v.startswith("./"))


@pytest.mark.unit
def test_compose_replicas_share_every_node_and_one_database(cluster_compose: dict[str, Any]) -> None:
    services = cluster_compose["services"]
    replicas = sorted(name for name in services if name.startswith("central-"))
    assert len(replicas) == 3
    deployment = Deployment(ROOT / "deploy" / "ioc-broker", ("nats-1", "nats-2", "nats-3"))
    expected = client_flags(deployment)
    brokers, ids = set(), set()
    for name in replicas:
        svc = services[name]
        command = svc["command"]
        assert _flag(command, "--nats-servers") == expected["--nats-servers"]
        assert _flag(command, "--mqtt-ca") == expected["--mqtt-ca"]
        assert _flag(command, "--mqtt-password-file") == expected["--mqtt-password-file"]
        brokers.add(_flag(command, "--broker"))
        ids.add(_flag(command, "--client-id"))
        assert "@postgres:5432/" in svc["environment"]["FLOODMESH_DATABASE_URL"]
        assert {"postgres", "nats-1", "nats-2", "nats-3"} <= set(svc["depends_on"])
        sources = {v.split(":")[0] for v in svc["volumes"]}
        assert sources == {"./ioc-registry/nodes.json", "./ioc-broker/ca.crt", "./ioc-broker/secrets/central.password"}
    assert brokers == {f"nats-{n}:8883" for n in (1, 2, 3)}  # one replica per node
    assert len(ids) == 3  # each replica its own MQTT client id
