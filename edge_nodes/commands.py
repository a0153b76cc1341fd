"""``floodmesh nodes ...``: convert the registry between CSV, GeoJSON and JSON; export one ward's keys;
provision a node."""

import argparse
import json
import sys
from pathlib import Path

from edge_nodes import provision, registry_io
from protocol.registry import NodeRegistry, RegistryError


def _cmd_convert(args: argparse.Namespace) -> int:
    try:
        nodes = registry_io.load(args.src, make_keys=args.new_keys)
        registry_io.save(nodes, args.dst, include_keys=args.include_keys, demo=registry_io.is_demo(args.src))
    except RegistryError as exc:
        print(f"floodmesh nodes: {exc}", file=sys.stderr)
        return 2
    print(f"floodmesh nodes: {len(nodes)} node(s) written to {args.dst}")
    return 0


def _cmd_export(args: argparse.Namespace) -> int:
    """One ward's nodes into their own registry: the only keys that ward's gateway holds."""
    try:
        nodes = registry_io.load(args.registry)
        ward = NodeRegistry((n.record for n in nodes), demo=registry_io.is_demo(args.registry)).only_ward(args.ward)
        if not len(ward):
            present = ", ".join(sorted({n.record.ward for n in nodes})) or "none"
            raise RegistryError(f"no node of ward {args.ward} in {args.registry} (wards there: {present}); "
                                "check the ward code")
        ward.save(args.out)
    except (RegistryError, OSError) as exc:
        print(f"floodmesh nodes export: {exc}", file=sys.stderr)
        return 2
    print(f"floodmesh nodes export: {len(ward)} node(s) of ward {args.ward} written to {args.out} (mode 0600); "
          f"give it to the ward's gateway: floodmesh gateway --ward {args.ward} --registry {args.out} ...")
    return 0


def _cmd_provision(args: argparse.Namespace) -> int:
    try:
        node_id = int(args.node_id, 16)
        nodes = {n.record.node_id: n for n in registry_io.load(args.registry)}
    except (ValueError, RegistryError) as exc:
        print(f"floodmesh nodes provision: {exc}", file=sys.stderr)
        return 2
    node = nodes.get(node_id)
    if node is None:
        print(f"floodmesh nodes provision: node {node_id:08x} is not in {args.registry}", file=sys.stderr)
        return 2
    with provision.staged_config(node_id) as staged:
        try:
            p = provision.plan(node, args.port, staged, args.interval,
                               deep_sleep=not args.no_deep_sleep, batch=args.batch,
                               radio_power_pin=args.radio_power_pin, radio_boot_ms=args.radio_boot_ms)
        except provision.ProvisionError as exc:
            print(f"floodmesh nodes provision: {exc}", file=sys.stderr)
            return 2
        if not args.dry_run and registry_io.is_demo(args.registry):
            print(f"floodmesh nodes provision: {args.registry} is a demo registry; a device gets real keys only: "
                  "floodmesh nodes convert --new-keys NODES.geojson nodes.json (from the node list without keys)",
                  file=sys.stderr)
            return 2
        if args.dry_run:
            shown = dict(p.config, key=f"<{len(node.record.key)} bytes>")
            print(json.dumps({"node_id": f"{node_id:08x}", "port": p.port, "config": shown,
                              "files": [dst for _src, dst in p.files]}))
            for cmd in p.commands:
                print(" ".join(c if "\n" not in c else repr(c) for c in cmd))
            return 0
        return provision.execute(p)


def add_parser(sub: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    """Register ``nodes`` and its subcommands on the ``floodmesh`` parser."""
    nodes = sub.add_parser("nodes", help="the node registry and provisioning")
    nsub = nodes.add_subparsers(dest="nodes_command", required=True)

    conv = nsub.add_parser("convert", help="registry between .csv, .geojson and .json (by suffix)")
    conv.add_argument("src", type=Path)
    conv.add_argument("dst", type=Path)
    conv.add_argument("--new-keys", action="store_true", help="give nodes without a key a fresh random one")
    conv.add_argument("--include-keys", action="store_true", help="write keys into GeoJSON too")
    conv.set_defaults(func=_cmd_convert)

    export = nsub.add_parser("export", help="one ward's nodes into their own registry, for that ward's gateway")
    export.add_argument("--ward", required=True, help="ward code, e.g. 19774")
    export.add_argument("--registry", type=Path, required=True, help="the province's registry .csv, .geojson or .json")
    export.add_argument("--out", type=Path, required=True, help="the ward's registry .json (written 0600)")
    export.set_defaults(func=_cmd_export)

    prov = nsub.add_parser("provision", help="copy the firmware and the node's config.json with mpremote")
    prov.add_argument("--port", required=True, help="serial port of the ESP32, e.g. /dev/ttyUSB0")
    prov.add_argument("--registry", type=Path, required=True, help="registry .csv, .geojson or .json")
    prov.add_argument("--interval", type=int, default=300, help="water-level report interval, s")
    prov.add_argument("--batch", type=int, default=provision.BATCH, help="readings per frame in calm water")
    prov.add_argument("--no-deep-sleep", action="store_true", help="keep a water-level node awake (mains power)")
    prov.add_argument("--radio-power-pin", type=int, default=None,
                      help="GPIO of the radio's load switch (default: radio always powered)")
    prov.add_argument("--radio-boot-ms", type=int, default=provision.RADIO_BOOT_MS,
                      help="how long the radio takes to boot after power-on")
    prov.add_argument("--dry-run", action="store_true", help="print what would be written; touch no device")
    prov.add_argument("node_id", help="node id in hex, e.g. 0a000001")
    prov.set_defaults(func=_cmd_provision)
