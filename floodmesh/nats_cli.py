"""``floodmesh broker cluster``: the IOC's clustered broker tier on this machine, until Ctrl-C;
``floodmesh broker cluster-config``: the same tier's configs for nodes on hosts of their own.

Starts the NATS nodes (``floodmesh.nats_cluster``) from a broker directory, then prints what each
process needs: every node's MQTT and native URL, the flags of each central replica (one node each,
the JetStream work queue on all) and of each gateway (a node, then the others as broker_failover).
"""

import argparse
import signal
import sys
import threading
from pathlib import Path

from floodmesh.broker import BrokerError
from floodmesh.nats_cluster import NatsCluster, start_nats_cluster
from floodmesh.nats_config import NatsConfigError
from floodmesh.nats_deploy import Deployment, client_flags, write_deployment


def add_arguments(cluster: argparse.ArgumentParser) -> None:
    """The ``broker cluster`` flags."""
    cluster.add_argument("--dir", type=Path, required=True, help="broker directory: CA, identities, JetStream data")
    cluster.add_argument("--nodes", type=int, default=3, help="nats-server nodes (3 tolerates one down)")
    cluster.add_argument("--host", default="127.0.0.1", help="address every node listens on")
    cluster.add_argument("--gateway", action="append", default=[], metavar="WARD:GATEWAY",
                         help="a gateway identity to create (repeat)")
    cluster.add_argument("--replicas", type=int, default=3, help="central replicas to print flags for")


def add_deploy_arguments(deploy: argparse.ArgumentParser) -> None:
    """The ``broker cluster-config`` flags."""
    deploy.add_argument("--dir", type=Path, required=True, help="broker directory: CA, identities; configs go to nats/")
    deploy.add_argument("--node", action="append", required=True, metavar="HOST",
                        help="a node's host name as its peers and central reach it (repeat; 3 or more)")
    deploy.add_argument("--public-host", action="append", default=[], metavar="HOST",
                        help="another name the certificate must carry (what gateways dial; repeat)")
    deploy.add_argument("--mount", type=Path, default=Deployment.mount, help="where each node sees --dir")
    deploy.add_argument("--store-dir", default=Deployment.store_dir,
                        help="JetStream store inside each node ({address} is the node's host)")


def run_deploy(args: argparse.Namespace) -> int:
    """Write every node's config for a multi-host tier and say how to run the nodes and central."""
    deployment = Deployment(args.dir.resolve(), tuple(args.node), args.mount, args.store_dir,
                            public_hosts=tuple(args.public_host))
    try:
        written = write_deployment(deployment)
    except (NatsConfigError, ValueError, OSError) as exc:
        print(f"floodmesh broker cluster-config: {exc}", file=sys.stderr)
        return 2
    for address, path in zip(deployment.addresses, written, strict=True):
        print(f"{address}: nats-server -c {deployment.mounted_config(address)}   (written to {path}, 0600)")
    flags = " ".join(f"{flag} {value}" for flag, value in client_flags(deployment).items())
    print(f"central replicas: floodmesh central {flags} --mqtt-username central --client-id central-N ...")
    print("after `floodmesh broker add-gateway`, run this again and send every node SIGHUP")
    return 0


def run_cluster(args: argparse.Namespace) -> int:
    """Start the cluster, print the clients' flags, and keep it running until Ctrl-C."""
    try:
        gateways = [tuple(spec.split(":", 1)) for spec in args.gateway]
        if any(len(g) != 2 for g in gateways):
            raise BrokerError("--gateway takes WARD:GATEWAY, e.g. 19774:gw-19774")
        cluster = start_nats_cluster(args.dir.resolve(), args.nodes, args.host,
                                     [(w, g) for w, g in gateways])
    except (BrokerError, ValueError, OSError) as exc:
        print(f"floodmesh broker cluster: {exc}", file=sys.stderr)
        return 2
    signal.signal(signal.SIGTERM, _interrupt)  # `kill` or a service manager stops the nodes too
    try:
        print(describe(cluster, [g for _w, g in gateways], args.replicas), flush=True)
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        cluster.stop()
    return 0


def _interrupt(_signum: int, _frame: object) -> None:
    raise KeyboardInterrupt


def describe(cluster: NatsCluster, gateways: list[str], replicas: int) -> str:
    """What to run against ``cluster``: node addresses, central replicas' and gateways' flags."""
    d = cluster.directory
    lines = [f"NATS cluster of {len(cluster.nodes)} nodes (JetStream, MQTT over TLS), CA {cluster.ca_file}"]
    for i, node in enumerate(cluster.nodes):
        lines.append(f"  {node.ports.name}: mqtts://{cluster.host}:{node.ports.mqtt}  {cluster.nats_url(i)}  "
                     f"log {node.log_path}")
    lines.append("central replicas (one PostgreSQL database; each its own --client-id):")
    for n in range(replicas):
        ports = cluster.nodes[n % len(cluster.nodes)].ports
        lines.append(f"  floodmesh central --database-url postgresql://... --client-id central-{n} "
                     f"--broker {cluster.host}:{ports.mqtt} --nats-servers {cluster.nats_servers()} "
                     f"--mqtt-username central --mqtt-password-file {d / 'secrets' / 'central.password'} "
                     f"--mqtt-ca {cluster.ca_file} --registry nodes.json")
    for n, gateway in enumerate(gateways):
        endpoints = cluster.endpoints_for(gateway)
        order = endpoints[n % len(endpoints):] + endpoints[: n % len(endpoints)]
        lines.append(f"  gateway {gateway}: --broker {order[0].host}:{order[0].port} --broker-failover "
                     + ",".join(f"{e.host}:{e.port}" for e in order[1:])
                     + f" --mqtt-password-file {d / 'secrets' / (gateway + '.password')} --mqtt-ca {cluster.ca_file}")
    lines.append("Ctrl-C stops every node.")
    return "\n".join(lines)
