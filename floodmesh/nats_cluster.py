"""Start the IOC's clustered broker tier: N nats-server nodes with JetStream and their MQTT listener.

Like ``floodmesh.broker`` does for Mosquitto: configs generated into a workdir, free loopback ports,
the same CA and identities (TLS, one password per identity, the ACL translated to NATS subject
permissions; see ``floodmesh.nats_config``). Gateways keep speaking MQTT 3.1.1 with paho; each node
is one entry of their ``broker_failover`` list. Sessions and QoS 1 messages are kept in JetStream,
replicated on every node (up to 3), so killing one node loses no acknowledged message.

Why NATS (issue 13 asked to argue any better engine): Debian ships it (2.9, one static binary, no
JVM or Erlang runtime to operate), it clusters with Raft-replicated JetStream, speaks MQTT itself
(no bridge process), and central can consume the same uplinks as a JetStream work queue. EMQX and
VerneMQ are not packaged by Debian; RabbitMQ's MQTT plugin keeps QoS 1 sessions in classic queues
that are not replicated without quorum-queue configuration MQTT cannot use.
"""

import json
import secrets
import shutil
import signal
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from floodmesh.broker import BrokerError, free_port, probe_connect, wait_for_port
from floodmesh.broker_auth import CENTRAL, BrokerAuth, gateway_identity
from floodmesh.broker_config import init_broker_directory
from floodmesh.broker_tls import DEFAULT_HOSTS, TlsFiles, issue_peer_cert
from floodmesh.nats_config import ROUTE_CERT, ROUTE_KEY, NodePorts, write_node_configs
from protocol.mqtt_endpoint import MqttEndpoint
from protocol.secret_file import write_private

_NATS_PATHS = ("/usr/sbin/nats-server", "/usr/bin/nats-server", "/usr/local/bin/nats-server")


def find_nats_server() -> str | None:
    """Path of the nats-server binary, or None (Debian installs it in /usr/sbin)."""
    found = shutil.which("nats-server")
    if found:
        return found
    return next((p for p in _NATS_PATHS if Path(p).exists()), None)


@dataclass
class NatsNode:
    """One running nats-server of the cluster."""

    ports: NodePorts
    config: Path
    log_path: Path
    process: subprocess.Popen[bytes] | None = None

    @property
    def alive(self) -> bool:
        """Whether the node's process is running."""
        return self.process is not None and self.process.poll() is None


@dataclass
class NatsCluster:
    """A running cluster, where to reach each node, and the identities it knows."""

    directory: Path
    host: str
    nodes: list[NatsNode]
    binary: str
    _route_password: str = field(repr=False, default="")
    _hashes: dict[str, str] = field(repr=False, default_factory=dict)

    @property
    def ca_file(self) -> Path:
        """The CA clients must trust (the same tooling as Mosquitto's, ``floodmesh.broker_tls``)."""
        return TlsFiles.under(self.directory).ca_cert

    def endpoint_for(self, username: str, node: int = 0) -> MqttEndpoint:
        """How ``username`` reaches node ``node``'s MQTT listener."""
        password = BrokerAuth(self.directory).password(username)
        return MqttEndpoint(self.host, self.nodes[node].ports.mqtt, username, password, self.ca_file)

    def endpoints_for(self, username: str) -> list[MqttEndpoint]:
        """``username``'s endpoint on every node, in order: a gateway's failover list."""
        return [self.endpoint_for(username, i) for i in range(len(self.nodes))]

    def endpoint_for_central(self, node: int = 0) -> MqttEndpoint:
        """Central's identity on node ``node``."""
        return self.endpoint_for(CENTRAL, node)

    def nats_url(self, node: int = 0) -> str:
        """Native NATS URL of node ``node`` (TLS; credentials are passed separately)."""
        return f"tls://{self.host}:{self.nodes[node].ports.client}"

    def nats_servers(self) -> str:
        """Every node's native URL, comma-separated: central's ``nats_servers`` setting."""
        return ",".join(self.nats_url(i) for i in range(len(self.nodes)))

    def add_gateway(self, ward: str, gateway: str, timeout_s: float = 20.0) -> list[MqttEndpoint]:
        """Give ``gateway`` an identity on every node (config reload) and return its failover list."""
        BrokerAuth(self.directory).add(gateway_identity(ward, gateway))
        self._write_configs()
        for node in self.nodes:
            if node.alive and node.process is not None:
                node.process.send_signal(signal.SIGHUP)  # nats-server reloads users without dropping clients
        endpoints = self.endpoints_for(gateway)
        for index, node in enumerate(self.nodes):
            if not node.alive:
                continue
            deadline = time.monotonic() + timeout_s
            while not probe_connect(endpoints[index], timeout_s=2.0):
                if time.monotonic() > deadline:
                    raise BrokerError(f"NATS node {node.ports.name} did not accept {gateway}; see {node.log_path}")
                time.sleep(0.1)  # the reload is asynchronous; polling a cheap connect is the only signal
        return endpoints

    def kill(self, node: int) -> None:
        """Kill -9 one node (failover tests)."""
        process = self.nodes[node].process
        if process is not None and process.poll() is None:
            process.kill()
            process.wait(timeout=10)

    def start_node(self, node: int, timeout_s: float = 30.0) -> None:
        """(Re)start one node with its existing config and JetStream store."""
        self.nodes[node].process = _spawn(self.binary, self.nodes[node])
        wait_for_port(self.host, self.nodes[node].ports.mqtt, timeout_s, self.nodes[node].process)

    def wait_ready(self, timeout_s: float = 60.0) -> None:
        """Block until every live node reports JetStream healthy (meta leader elected, streams current)."""
        deadline = time.monotonic() + timeout_s
        for node in self.nodes:
            if not node.alive:
                continue
            while not healthy(self.host, node.ports.monitor):
                if node.process is not None and node.process.poll() is not None:
                    raise BrokerError(f"NATS node {node.ports.name} exited; see {node.log_path}")
                if time.monotonic() > deadline:
                    raise BrokerError(f"NATS node {node.ports.name} not healthy after {timeout_s:.0f} s; "
                                      f"see {node.log_path}")
                time.sleep(0.1)

    def stop(self) -> None:
        """Terminate every node and wait for them."""
        for node in self.nodes:
            if node.process is not None and node.process.poll() is None:
                node.process.terminate()
        for node in self.nodes:
            if node.process is None:
                continue
            try:
                node.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                node.process.kill()
                node.process.wait(timeout=10)

    def _write_configs(self) -> None:
        write_node_configs(self.directory, [n.ports for n in self.nodes], self.host, self._route_password,
                           self._hashes)

    def __enter__(self) -> "NatsCluster":
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def healthy(host: str, port: int) -> bool:
    """Whether the node whose monitoring port is ``host:port`` reports JetStream ready (``/healthz``)."""
    try:
        with urllib.request.urlopen(f"http://{host}:{port}/healthz", timeout=1.0) as answer:
            return bool(json.loads(answer.read()).get("status") == "ok")
    except (OSError, urllib.error.URLError, ValueError):
        return False


def _spawn(binary: str, node: NatsNode) -> subprocess.Popen[bytes]:
    with node.log_path.open("ab") as log:
        return subprocess.Popen([binary, "-c", str(node.config)],  # noqa: S603
                                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)


def route_password(directory: Path) -> str:
    """The cluster's route password (generated once, 0600, in the broker directory's secrets)."""
    path = directory / "secrets" / "nats-route.password"
    if not path.exists():
        write_private(path, secrets.token_urlsafe(32) + "\n")
    return path.read_text(encoding="utf-8").strip()


def start_nats_cluster(
    workdir: Path, nodes: int = 3, host: str = "127.0.0.1", gateways: Sequence[tuple[str, str]] = (),
    timeout_s: float = 60.0,
) -> NatsCluster:
    """Start ``nodes`` nats-server processes on free ports of ``host`` and wait until JetStream is ready.

    Secure by default like ``start_broker``: TLS on the MQTT and native ports (certificate for
    ``host``, 127.0.0.1 and localhost), passwords (bcrypt) and subject permissions, no anonymous
    client. Routes between nodes use mutual TLS (a route certificate from the same CA) and a route
    password (generated, 0600). A reused ``workdir`` keeps the CA, identities and JetStream stores.
    """
    binary = find_nats_server()
    if binary is None:
        raise BrokerError("nats-server is not installed: run scripts/setup.sh as root (apt-get install nats-server)")
    workdir.mkdir(parents=True, exist_ok=True)
    hosts = list(dict.fromkeys([host, *DEFAULT_HOSTS]))
    init_broker_directory(workdir, hosts, datetime.now(UTC))
    issue_peer_cert(TlsFiles.under(workdir), hosts, datetime.now(UTC), workdir / ROUTE_CERT, workdir / ROUTE_KEY)
    for ward, gateway in gateways:
        BrokerAuth(workdir).add(gateway_identity(ward, gateway))
    ports = [NodePorts(f"n{i + 1}", free_port(host), free_port(host), free_port(host), free_port(host))
             for i in range(nodes)]
    cluster = NatsCluster(workdir, host, [], binary, route_password(workdir))
    cluster.nodes = [NatsNode(p, workdir / "nats" / f"{p.name}.conf", workdir / "nats" / f"{p.name}.log")
                     for p in ports]
    cluster._write_configs()
    try:
        for index in range(nodes):
            cluster.start_node(index)
        cluster.wait_ready(timeout_s)
    except BrokerError:
        cluster.stop()
        raise
    return cluster
