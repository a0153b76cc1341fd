"""``python -m benchmarks [NAME]``: run one benchmark (one JSON line) or all (also results.json)."""

import json
import sys
from collections.abc import Callable
from pathlib import Path

from benchmarks import (
    airtime,
    dashboard_render,
    failover,
    flood_rules,
    geolocate,
    mesh_capacity,
    national_load,
    outbox_replay,
    sos_latency,
    telemetry_store,
    telemetry_throughput,
)

BENCHMARKS: dict[str, Callable[[], dict[str, object]]] = {
    "telemetry_throughput": telemetry_throughput.run,
    "airtime": airtime.run,
    "outbox_replay": outbox_replay.run,
    "geolocate": geolocate.run,
    "telemetry_store": telemetry_store.run,
    "flood_rules": flood_rules.run,
    "dashboard_render": dashboard_render.run,
    "failover": failover.run,
    "sos_latency": sos_latency.run,
    "mesh_capacity": mesh_capacity.run,
    "national_load": national_load.run,
}


def main(argv: list[str]) -> int:
    """Run the named benchmark, or all of them when none is named."""
    names = argv or list(BENCHMARKS)
    unknown = [n for n in names if n not in BENCHMARKS]
    if unknown:
        print(f"unknown benchmark(s) {', '.join(unknown)}; known: {', '.join(BENCHMARKS)}", file=sys.stderr)
        return 2
    results = []
    for name in names:
        result = BENCHMARKS[name]()
        print(json.dumps(result), flush=True)
        results.append(result)
    if not argv:
        (Path(__file__).parent / "results.json").write_text(json.dumps(results, indent=1) + "\n")
    return 0


sys.exit(main(sys.argv[1:]))
