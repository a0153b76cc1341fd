"""``floodmesh broker init|add-gateway|cluster``: the broker's CA, certificate, identities and ACL from our records.

Wired into floodmesh/cli.py with ``add_parser(sub)``; the clients' own ``--mqtt-*`` flags come from their
settings models (floodmesh/settings_cli.py).
"""

import argparse
import os
import signal
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from floodmesh.broker_auth import BrokerAuth, gateway_identity
from floodmesh.broker_config import MosquittoOptions, init_broker_directory, secure_config
from floodmesh.broker_tls import DEFAULT_HOSTS, TlsFiles
from floodmesh.nats_cli import add_arguments as add_cluster_arguments
from floodmesh.nats_cli import add_deploy_arguments, run_cluster, run_deploy
from protocol.secret_file import write_public


def add_parser(sub: Any) -> argparse.ArgumentParser:
    """Add the ``broker`` subcommand to an ``add_subparsers()`` object."""
    broker: argparse.ArgumentParser = sub.add_parser("broker", help="the MQTT broker's CA, certificate and identities")
    action = broker.add_subparsers(dest="broker_action", required=True)
    init = action.add_parser("init", help="CA, server certificate, central's password, mosquitto.conf")
    init.add_argument("--dir", type=Path, required=True, help="the broker directory (keep it private)")
    init.add_argument("--host", action="append", default=None,
                      help="host name or IP the broker is reached at (repeat; default 127.0.0.1 and localhost)")
    init.add_argument("--port", type=int, default=8883)
    init.add_argument("--bind", default="0.0.0.0", help="address the TLS listener binds")  # noqa: S104
    init.add_argument("--run-as", default=None, help="user Mosquitto drops to (default: whoever runs this)")
    add = action.add_parser("add-gateway", help="an identity for one gateway; reloads a running broker")
    add.add_argument("--dir", type=Path, required=True)
    add.add_argument("--ward", required=True)
    add.add_argument("--gateway", required=True, help="the gateway id (also its MQTT username)")
    add.add_argument("--pid-file", type=Path, default=None, help="default: mosquitto.pid in --dir, if present")
    cluster = action.add_parser("cluster", help="the IOC's clustered tier: N nats-server nodes with JetStream "
                                "and MQTT, until Ctrl-C")
    add_cluster_arguments(cluster)
    deploy = action.add_parser("cluster-config", help="the clustered tier's configs for nodes on hosts of their "
                               "own (deploy/ioc-cluster.yml)")
    add_deploy_arguments(deploy)
    broker.set_defaults(func=run_broker)
    return broker


def run_broker(args: argparse.Namespace) -> int:
    """Carry out ``floodmesh broker ...``; returns the exit status."""
    try:
        if args.broker_action == "init":
            return _init(args)
        if args.broker_action == "cluster":
            return run_cluster(args)
        if args.broker_action == "cluster-config":
            return run_deploy(args)
        return _add_gateway(args)
    except (ValueError, OSError) as exc:
        print(f"floodmesh broker: {exc}", file=sys.stderr)
        return 2


def _init(args: argparse.Namespace) -> int:
    directory: Path = args.dir.resolve()
    hosts = args.host or list(DEFAULT_HOSTS)
    central = init_broker_directory(directory, hosts, datetime.now(UTC))
    options = MosquittoOptions(args.bind, args.port, persistence_dir=directory / "data",
                               pid_file=directory / "mosquitto.pid", run_as=args.run_as)
    write_public(directory / "mosquitto.conf", secure_config(directory, options))
    print(f"broker directory: {directory}")
    print(f"  mosquitto -c {directory / 'mosquitto.conf'}")
    print(f"  clients trust: {TlsFiles.under(directory).ca_cert}  (names: {', '.join(hosts)})")
    print(f"  central: --mqtt-username central --mqtt-password-file {central}")
    return 0


def _add_gateway(args: argparse.Namespace) -> int:
    directory: Path = args.dir.resolve()
    if not TlsFiles.under(directory).ca_cert.exists():
        print(f"floodmesh broker: {directory} has no CA: run `floodmesh broker init --dir {directory}` first")
        return 2
    secret = BrokerAuth(directory).add(gateway_identity(args.ward, args.gateway))
    print(f"gateway {args.gateway} of ward {args.ward}: copy {secret} to the gateway (mode 0600) and run it with")
    print(f"  --mqtt-username {args.gateway} --mqtt-password-file <that file> --mqtt-ca <copy of "
          f"{TlsFiles.under(directory).ca_cert}>")
    pid_file: Path = args.pid_file or directory / "mosquitto.pid"
    if not pid_file.exists():
        print(f"no {pid_file}: reload the broker yourself (kill -HUP <pid>, or `docker kill -s HUP mosquitto`)")
        return 0
    pid = int(pid_file.read_text().strip())
    os.kill(pid, signal.SIGHUP)
    print(f"reloaded the broker (pid {pid})")
    return 0
