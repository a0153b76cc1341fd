"""nats-server's configuration for the IOC's clustered broker tier: identities, permissions, nodes.

The same broker directory as Mosquitto's (``floodmesh.broker_config``): one CA, one server
certificate, ``identities.json`` and each identity's 0600 password file. What differs is only the
rendering: NATS users with bcrypt hashes and subject permissions instead of ``passwd`` and ``acl``.

MQTT topics become NATS subjects inside nats-server (``/`` → ``.``, ``+`` → ``*``, ``#`` → ``>``), so
the Mosquitto ACL of ``floodmesh.broker_auth.acl_rules`` is translated rule for rule: a gateway may
publish only ``floodmesh.v1.<ward>.<gw>.up.>`` and its ``status``, and subscribe only to its own
``down.>``, ``ack`` and its ward's ``alerts`` and ``directory``. Pure functions: no process, no I/O
except ``write_node_configs``.
"""

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import bcrypt

from floodmesh.broker_auth import BrokerAuth, Identity, acl_rules
from floodmesh.broker_tls import TlsFiles
from protocol.secret_file import write_private

CLUSTER_NAME = "floodmesh-ioc"
ROUTE_USER = "route"
ROUTE_CERT, ROUTE_KEY = "route.crt", "route.key"  # in the broker directory (floodmesh.nats_cluster issues them)
# bcrypt cost: nats-server checks the hash on every connect; 10 is ~50 ms on a Pi-class CPU per
# gateway reconnect, and offline guessing of a 256-bit random password is hopeless at any cost.
_BCRYPT_ROUNDS = 10
# Central also speaks native NATS (the JetStream work-queue consumer): the JetStream API, acks and inboxes.
_CENTRAL_NATIVE = ("$JS.API.>", "$JS.ACK.>", "_INBOX.>")
# nats-server delivers an MQTT QoS 1 subscription through a JetStream consumer whose delivery subject is
# ``$MQTT.sub.<random>``: the subscriber needs it. Only MQTT connections are allowed for gateways, and
# nats-server's MQTT listener maps topics so that no MQTT filter reaches ``$MQTT.`` subjects
# (tests/floodmesh/test_nats_cluster.py proves a gateway cannot read another's deliveries).
_MQTT_QOS1_DELIVERY = "$MQTT.sub.>"


class NatsConfigError(ValueError):
    """A topic filter or identity that has no NATS equivalent."""


def mqtt_filter_to_subject(topic_filter: str) -> str:
    """An MQTT topic filter as the NATS subject nats-server's MQTT listener maps it to."""
    levels = topic_filter.split("/")
    subject: list[str] = []
    for level in levels:
        if not level or "." in level or " " in level:
            raise NatsConfigError(f"topic filter {topic_filter!r}: empty levels, dots and spaces do not map "
                                  "one-to-one to NATS subjects; rename the ward or gateway")
        subject.append({"+": "*", "#": ">"}.get(level, level))
    return ".".join(subject)


@dataclass(frozen=True)
class SubjectPermissions:
    """What one identity may publish and subscribe to, as NATS subjects."""

    publish: tuple[str, ...]
    subscribe: tuple[str, ...]


def permissions_for(identity: Identity) -> SubjectPermissions:
    """The NATS translation of the identity's Mosquitto ACL (one source of truth: ``acl_rules``)."""
    publish: list[str] = []
    subscribe: list[str] = []
    for rule in acl_rules(identity):
        _, access, topic_filter = rule.split(" ", 2)
        (publish if access == "write" else subscribe).append(mqtt_filter_to_subject(topic_filter))
    subscribe.append(_MQTT_QOS1_DELIVERY)
    if identity.role == "central":
        publish += _CENTRAL_NATIVE
        subscribe += _CENTRAL_NATIVE
    return SubjectPermissions(tuple(publish), tuple(subscribe))


def hash_password(password: str) -> str:
    """A bcrypt hash nats-server accepts in place of a plaintext password."""
    return bcrypt.hashpw(password.encode(), bcrypt.gensalt(_BCRYPT_ROUNDS)).decode()


def render_users(auth: BrokerAuth, hashes: dict[str, str]) -> str:
    """The ``authorization { users: [...] }`` block; ``hashes`` caches bcrypt hashes by password file."""
    entries = []
    for identity in auth.identities():
        password = auth.password(identity.username)
        cached = hashes.get(password)
        if cached is None or not bcrypt.checkpw(password.encode(), cached.encode()):
            cached = hashes[password] = hash_password(password)
        perms = permissions_for(identity)
        # A gateway speaks MQTT only: no native NATS connection that could subscribe around the mapping.
        kinds = '["MQTT"]' if identity.role == "gateway" else '["STANDARD", "MQTT"]'
        entries.append(
            f"    {{user: {json.dumps(identity.username)}, password: {json.dumps(cached)}, "
            f"allowed_connection_types: {kinds}, permissions: {{"
            f"publish: {{allow: {json.dumps(list(perms.publish))}}}, "
            f"subscribe: {{allow: {json.dumps(list(perms.subscribe))}}}}}}}"
        )
    return "authorization {\n  users: [\n" + ",\n".join(entries) + "\n  ]\n}\n"


@dataclass(frozen=True)
class NodePorts:
    """Where one cluster node listens (all on the same host)."""

    name: str
    client: int  # native NATS (central's JetStream consumer)
    mqtt: int  # MQTT 3.1.1 over TLS (gateways, central's MQTT ingest)
    route: int  # cluster routes to the other nodes
    monitor: int  # HTTP monitoring: /healthz tells when JetStream is ready


def render_node_config(
    directory: Path, node: NodePorts, peers: Sequence[NodePorts], host: str, route_password: str,
    users_block: str, replicas: int, route_hosts: Mapping[str, str] | None = None, store_dir: Path | None = None,
) -> str:
    """One node's nats-server config: TLS on client and MQTT ports, JetStream, routes, users.

    ``directory`` is where the node finds the broker directory (a container's mount point on a
    multi-host deployment); ``host`` is what it listens on; ``route_hosts`` maps a peer's name to
    where the others reach it (default: ``host``, every node on one machine)."""
    tls = TlsFiles.under(directory)
    tls_block = f'tls {{cert_file: "{tls.server_cert}", key_file: "{tls.server_key}"}}'
    route_tls = (f'tls {{cert_file: "{directory / ROUTE_CERT}", key_file: "{directory / ROUTE_KEY}", '
                 f'ca_file: "{tls.ca_cert}", timeout: 2}}')
    where = route_hosts or {}
    routes = ", ".join(f'"nats-route://{ROUTE_USER}:{route_password}@{where.get(p.name, host)}:{p.route}"'
                       for p in peers if p.name != node.name)
    store = store_dir or directory / "nats" / node.name / "jetstream"
    return f"""# Generated by floodmesh (floodmesh/nats_config.py); regenerate rather than edit.
server_name: {node.name}
listen: "{host}:{node.client}"
http: "{host}:{node.monitor}"
{tls_block}
jetstream {{store_dir: "{store}"}}
cluster {{
  name: {CLUSTER_NAME}
  listen: "{host}:{node.route}"
  # Routes carry every message between nodes: mutual TLS (each node's route certificate, our CA) and a password.
  {route_tls}
  authorization {{user: {ROUTE_USER}, password: "{route_password}"}}
  routes: [{routes}]
}}
mqtt {{
  listen: "{host}:{node.mqtt}"
  {tls_block}
  # Sessions, retained messages and QoS 1 messages live in JetStream streams replicated on every node:
  # a node may die and a client's session and unacknowledged messages are still on the others.
  stream_replicas: {replicas}
  # A QoS 1 message not acknowledged by its subscriber within ack_wait is sent again.
  ack_wait: "10s"
  max_ack_pending: 10000
}}
{users_block}"""


def write_node_configs(
    directory: Path, nodes: Sequence[NodePorts], host: str, route_password: str, hashes: dict[str, str],
) -> list[Path]:
    """Write every node's config (0600: it holds the route password) and return their paths."""
    users_block = render_users(BrokerAuth(directory), hashes)
    paths = []
    for node in nodes:
        path = directory / "nats" / f"{node.name}.conf"
        path.parent.mkdir(parents=True, exist_ok=True)
        write_private(path, render_node_config(directory, node, nodes, host, route_password, users_block,
                                               replicas=min(3, len(nodes))))
        paths.append(path)
    return paths
