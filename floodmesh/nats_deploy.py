"""The IOC's NATS tier on several hosts: one nats-server config per node, from the broker directory.

``floodmesh broker cluster`` runs every node on this machine, on free loopback ports. A deployment runs
each node on a host of its own (``deploy/ioc-cluster.yml``: containers ``nats-1``..``nats-3``) on the
standard ports. Everything that makes the tier secure is the same (floodmesh's CA, one password per
identity, the ACL as subject permissions, mutual TLS and a password on the routes); only *where* differs:
each node listens on all its interfaces, reaches its peers by their host names, finds the broker
directory where it is mounted and keeps JetStream on its own volume. So the configs are written here,
from floodmesh's records, and mounted read-only into the nodes: after ``floodmesh broker add-gateway``
run this again and send the nodes SIGHUP (they reload users without dropping clients).
"""

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

from floodmesh.broker_auth import BrokerAuth
from floodmesh.broker_config import init_broker_directory
from floodmesh.broker_tls import DEFAULT_HOSTS, TlsFiles, issue_peer_cert
from floodmesh.nats_cluster import route_password
from floodmesh.nats_config import ROUTE_CERT, ROUTE_KEY, NatsConfigError, NodePorts, render_node_config, render_users
from protocol.secret_file import write_private

STANDARD_PORTS = NodePorts("", client=4222, mqtt=8883, route=6222, monitor=8222)


@dataclass(frozen=True)
class Deployment:
    """Where each node of a multi-host NATS tier runs, and where it finds its files."""

    directory: Path  # the broker directory on this machine: configs are written into its nats/ folder
    addresses: tuple[str, ...]  # each node's host name (or IP) as its peers and central reach it
    mount: Path = Path("/etc/floodmesh/broker")  # where each node sees the broker directory
    store_dir: str = "/data/jetstream"  # JetStream store inside each node; may name its {address}
    # A node on its own host serves the network (behind TLS and passwords); "{address}": only its own address.
    listen: str = "0.0.0.0"  # noqa: S104
    ports: NodePorts = STANDARD_PORTS
    public_hosts: tuple[str, ...] = ()  # more names clients use for the nodes (the IOC's name, for gateways)

    def config_path(self, address: str) -> Path:
        """The config file of the node at ``address``, on this machine."""
        return self.directory / "nats" / f"{address}.conf"

    def mounted_config(self, address: str) -> Path:
        """The same file as the node sees it: what its ``nats-server -c`` names."""
        return self.mount / "nats" / f"{address}.conf"


def write_deployment(deployment: Deployment, now: datetime | None = None) -> list[Path]:
    """Certificates for every node's name, the route password, and each node's config (0600).

    The CA and the identities are kept if the directory has them (clients keep trusting it); the
    server and route certificates are issued again for the nodes' names."""
    d = deployment
    if len(d.addresses) < 3 or len(set(d.addresses)) != len(d.addresses):
        raise NatsConfigError("a NATS tier that survives a node's loss needs 3 or more distinct node addresses")
    when = now or datetime.now(UTC)
    hosts = list(dict.fromkeys([*d.addresses, *d.public_hosts, *DEFAULT_HOSTS]))
    init_broker_directory(d.directory, hosts, when)
    issue_peer_cert(TlsFiles.under(d.directory), hosts, when, d.directory / ROUTE_CERT, d.directory / ROUTE_KEY)
    nodes = _nodes(d)
    route_hosts = {node.name: address for node, address in zip(nodes, d.addresses, strict=True)}
    users = render_users(BrokerAuth(d.directory), {})
    password = route_password(d.directory)
    written = []
    for node, address in zip(nodes, d.addresses, strict=True):
        text = render_node_config(d.mount, node, nodes, d.listen.format(address=address), password, users, replicas=3,
                                  route_hosts=route_hosts, store_dir=Path(d.store_dir.format(address=address)))
        path = d.config_path(address)
        path.parent.mkdir(parents=True, exist_ok=True)
        write_private(path, text)
        written.append(path)
    return written


def _nodes(d: Deployment) -> list[NodePorts]:
    return [replace(d.ports, name=f"n{i + 1}") for i in range(len(d.addresses))]


def client_flags(d: Deployment, addresses: Sequence[str] | None = None) -> dict[str, str]:
    """Central's broker flags on this tier: its own node's MQTT listener and every node's native URL."""
    where = list(addresses or d.addresses)
    return {
        "--broker": f"{where[0]}:{d.ports.mqtt}",
        "--nats-servers": ",".join(f"tls://{a}:{d.ports.client}" for a in d.addresses),
        "--mqtt-ca": str(d.mount / "ca.crt"),
        "--mqtt-password-file": str(d.mount / "secrets" / "central.password"),
    }
