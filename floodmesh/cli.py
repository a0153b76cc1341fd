"""``floodmesh``: one command for every process and tool."""

import argparse
import logging
import signal
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from central.core.config import CentralSettings
from floodmesh.broker import BrokerKind
from floodmesh.settings_cli import add_settings_flags, overrides_from, refused
from gateway.config import GatewaySettings
from protocol.process_settings import SettingsError

if TYPE_CHECKING:
    from gateway.radio.base import RadioLink

_BROKERS: tuple[BrokerKind, ...] = ("mosquitto", "amqtt")
_MQTT_FLAGS = {"mqtt_ca_file": ["--mqtt-ca"], "mqtt_cert_file": ["--mqtt-cert"], "mqtt_key_file": ["--mqtt-key"]}
# The flags these commands had before they were built from the settings models, kept as aliases.
_CENTRAL_FLAGS = {"db_path": ["--db"], "registry_path": ["--registry"], "api_host": ["--host"],
                  "api_port": ["--port"], "wards_path": ["--wards"], "authorities_path": ["--authorities"],
                  "telemetry_backend": ["--telemetry"], **_MQTT_FLAGS}
_GATEWAY_FLAGS = {"gateway_id": ["--gateway"], "outbox_path": ["--outbox"], "registry_path": ["--registry"],
                  **_MQTT_FLAGS}


def _host_port(value: str) -> tuple[str, int]:
    host, _, port = value.rpartition(":")
    if not host or not port.isdigit():
        raise argparse.ArgumentTypeError(f"expected HOST:PORT, got {value!r}")
    return host, int(port)


def _cmd_demo(args: argparse.Namespace) -> int:
    from simulations.demo import DEFAULT_WARDS, DemoConfig
    from simulations.demo_console import run_demo

    wards = tuple(args.wards.split(",")) if args.wards else DEFAULT_WARDS
    # A timed run cuts the ward off a quarter of the way in, for a third of it, so the summary
    # shows the ward running alone and the IOC catching up; an open-ended run at 20 s for 30 s.
    at = args.isolate_at if args.isolate_at is not None else (args.duration / 4 if args.duration else 20.0)
    span = args.isolate_for if args.isolate_for is not None else (args.duration / 3 if args.duration else 30.0)
    config = DemoConfig(wards=wards, api_port=args.port, broker=args.broker, workdir=args.workdir,
                        isolate_ward=None if args.isolate == "none" else args.isolate,
                        isolate_at_s=at, isolate_for_s=span)
    return run_demo(config, args.duration, args.summary_json)


def _cmd_central(args: argparse.Namespace) -> int:
    from central.service import run
    from protocol.registry import RegistryError

    try:
        settings = CentralSettings.from_sources(_with_broker(args), args.config)
    except SettingsError as exc:
        return refused("central", exc)
    try:
        run(settings)
    except RegistryError as exc:  # a demo registry, one others can read, or a malformed one
        print(f"floodmesh central: {exc}", file=sys.stderr)
        return 2
    return 0


def _with_broker(args: argparse.Namespace) -> dict[str, Any]:
    # --broker HOST:PORT stays as the short form of --broker-host and --broker-port.
    overrides = overrides_from(args)
    if args.broker is not None:
        overrides["broker_host"], overrides["broker_port"] = args.broker
    return overrides


def _radio_link(spec: str) -> "RadioLink":
    from gateway.radio.meshtastic_link import MeshtasticRadioLink, serial_interface_factory, tcp_interface_factory

    kind, _, where = spec.partition(":")
    if kind == "serial":
        return MeshtasticRadioLink(serial_interface_factory(where))
    host, port = _host_port(where if ":" in where else f"{where}:4403")
    return MeshtasticRadioLink(tcp_interface_factory(host, port))


def _cmd_gateway(args: argparse.Namespace) -> int:
    from gateway.node_keys import load_ward_registry
    from gateway.service import run_gateway
    from protocol.registry import RegistryError

    try:
        settings = GatewaySettings.from_sources(_with_broker(args), args.config)
    except SettingsError as exc:
        return refused("gateway", exc)
    if settings.radio is None or settings.registry_path is None:  # from_sources refuses both; for the type checker
        return refused("gateway", SettingsError("radio and registry_path are required"))
    try:
        registry = load_ward_registry(settings.registry_path, settings.ward, settings.allow_demo_registry)
    except RegistryError as exc:  # another ward's keys, a demo registry, one others can read
        print(f"floodmesh gateway: {exc}", file=sys.stderr)
        return 2
    run_gateway(settings, _radio_link(settings.radio), registry)
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser for all subcommands."""
    parser = argparse.ArgumentParser(prog="floodmesh", description=__doc__)
    parser.add_argument("-v", "--verbose", action="store_true", help="log at INFO level")
    sub = parser.add_subparsers(dest="command", required=True)

    demo = sub.add_parser("demo", help="run the whole system on this machine")
    demo.add_argument("--duration", type=float, default=None, help="seconds to run (default: until Ctrl-C)")
    demo.add_argument("--summary-json", action="store_true", help="print one JSON summary line at the end")
    demo.add_argument("--port", type=int, default=8080, help="API/dashboard port (0 = any free port)")
    demo.add_argument("--broker", choices=_BROKERS, default=None, help="default: mosquitto if installed")
    demo.add_argument("--wards", default="", help="comma-separated ward codes with a gateway")
    demo.add_argument("--workdir", type=Path, default=None, help="keep databases here (default: temporary)")
    demo.add_argument("--isolate", default="19774", help="ward whose backhaul is cut for a while ('none': no cut)")
    demo.add_argument("--isolate-at", type=float, default=None, help="seconds into the run the cut starts")
    demo.add_argument("--isolate-for", type=float, default=None, help="seconds the cut lasts")
    demo.set_defaults(func=_cmd_demo)

    central = sub.add_parser("central", help="run central: MQTT ingest, store, API, dashboard")
    central.add_argument("--broker", type=_host_port, default=None, metavar="HOST:PORT",
                         help="short for --broker-host and --broker-port")
    add_settings_flags(central, CentralSettings, _CENTRAL_FLAGS)
    central.set_defaults(func=_cmd_central)

    gateway = sub.add_parser("gateway", help="run a ward gateway beside its radio")
    gateway.add_argument("--broker", type=_host_port, default=None, metavar="HOST:PORT",
                         help="short for --broker-host and --broker-port")
    add_settings_flags(gateway, GatewaySettings, _GATEWAY_FLAGS)
    gateway.set_defaults(func=_cmd_gateway)

    from edge_nodes.commands import add_parser as add_nodes_parser
    from floodmesh.broker_cli import add_parser as add_broker_parser
    from floodmesh.users_cli import add_users_parser
    from floodmesh.wards_cli import add_parser as add_wards_parser
    from simulations.hue2023.cli import add_parser as add_simulate_parser

    add_nodes_parser(sub)
    add_wards_parser(sub)
    add_users_parser(sub)
    add_broker_parser(sub)
    add_simulate_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``floodmesh`` console script."""
    args = build_parser().parse_args(argv)
    # `docker stop` and systemd send SIGTERM: unwind through the same finally blocks as Ctrl-C.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    logging.basicConfig(level=logging.INFO if args.verbose else logging.ERROR,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
