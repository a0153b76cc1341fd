"""``python -m simulations.mesh --ward 19774 --hours 1 --seed 7 --summary-json``: one ward's mesh, alone.

Places the ward's radios, generates a flood hour's traffic, runs the model with a progress bar on
stderr, prints a readable summary and, with ``--summary-json``, the metrics as one JSON line last.
"""

import argparse
import json
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import TextIO

from simulations.mesh.metrics import MeshMetrics, measure, utilisation_series
from simulations.mesh.model import MeshModel
from simulations.mesh.physics import PRESETS, REGIONS, TERRAINS
from simulations.mesh.plots import plot_latency_cdf, plot_utilisation
from simulations.mesh.topology import ward_topology
from simulations.mesh.traffic import WardLoad, ward_traffic

DRAIN_S = 300.0  # after the last press, let retries and ACKs finish


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m simulations.mesh", description=__doc__.splitlines()[0])
    p.add_argument("--ward", default="19774", help="2025 GSO ward code (central/data/hue_wards.geojson)")
    p.add_argument("--hours", type=float, default=1.0, help="simulated hours of traffic")
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--preset", default="LONG_FAST", choices=sorted(PRESETS))
    p.add_argument("--region", default="VN", choices=sorted(REGIONS))
    p.add_argument("--terrain", default="suburban", choices=sorted(TERRAINS))
    p.add_argument("--buttons", type=int, default=150)
    p.add_argument("--sensors", type=int, default=6)
    p.add_argument("--handhelds", type=int, default=3)
    p.add_argument("--sensor-interval", type=float, default=WardLoad().sensor_interval_s, metavar="S")
    p.add_argument("--sos-per-button-hour", type=float, default=WardLoad().sos_per_button_per_hour, metavar="R")
    p.add_argument("--extra-loss", type=float, default=0.0, metavar="P",
                   help="independent loss per reception on top of the physics (e.g. 0.25 per hop)")
    p.add_argument("--plots", type=Path, metavar="DIR", help="write utilisation and latency PNGs there")
    p.add_argument("--summary-json", action="store_true", help="print the metrics as one JSON line last")
    return p


class ProgressBar:
    """A text progress bar on a stream: redrawn in place on a terminal, every 10 % otherwise."""

    def __init__(self, total: float, stream: TextIO | None = None, label: str = "mesh") -> None:
        self.total, self.stream, self.label = total, stream or sys.stderr, label
        self._last_decile = -1
        self._started = time.monotonic()

    def update(self, done: float) -> None:
        """Show ``done`` out of the total."""
        share = min(1.0, done / self.total) if self.total else 1.0
        decile = int(share * 10)
        tty = self.stream.isatty()
        if not tty and decile == self._last_decile:
            return
        self._last_decile = decile
        bar = "#" * int(share * 30)
        elapsed = time.monotonic() - self._started
        line = (f"{self.label} [{bar:<30}] {100 * share:5.1f}% "
                f"{done / 60:.0f}/{self.total / 60:.0f} sim min, {elapsed:.0f} s")
        self.stream.write(("\r" + line) if tty else line + "\n")
        if tty and share >= 1.0:
            self.stream.write("\n")
        self.stream.flush()


def run(args: argparse.Namespace) -> tuple[MeshModel, MeshMetrics]:
    """Build the ward's mesh and traffic, run the model with progress, measure it."""
    topology = ward_topology(args.ward, buttons=args.buttons, sensors=args.sensors, handhelds=args.handhelds,
                             seed=args.seed, region=args.region, terrain=args.terrain)
    load = WardLoad(sensor_interval_s=args.sensor_interval, sos_per_button_per_hour=args.sos_per_button_hour)
    duration = args.hours * 3600
    model = MeshModel(topology, args.preset, seed=args.seed, extra_loss=args.extra_loss)
    model.submit_all(ward_traffic(topology, duration, load, args.seed))
    total = duration + DRAIN_S
    bar = ProgressBar(total, label=f"ward {args.ward} {args.preset}")
    step = max(60.0, total / 200)
    t = 0.0
    while t < total:
        t = min(total, t + step)
        model.run(t)
        bar.update(t)
    return model, measure(model, args.ward)


def _write_plots(model: MeshModel, metrics: MeshMetrics, out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    gateway = min(model.gateways)
    starts = {o.ref: o.first_s for o in model.originations.values() if o.kind == "sos"}
    by_hops: dict[int, list[float]] = defaultdict(list)
    seen: set[str] = set()
    for r in model.receptions:
        if r.node in model.gateways and r.ref in starts and r.ref not in seen:
            seen.add(r.ref)
            by_hops[r.hops].append(max(1e-3, r.at_s - starts[r.ref]))
    name = f"mesh_{metrics.ward}_{metrics.preset}"
    return [
        plot_utilisation(utilisation_series(model, gateway), f"ward {metrics.ward}: channel at the gateway",
                         out / f"{name}_utilisation.png"),
        plot_latency_cdf(by_hops, f"ward {metrics.ward}: SOS latency by hops", out / f"{name}_sos_latency.png"),
    ]


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; returns the exit status."""
    args = _parser().parse_args(argv)
    try:
        model, metrics = run(args)
    except ValueError as e:
        print(f"mesh: {e}", file=sys.stderr)
        return 2
    print(f"ward {metrics.ward} on {metrics.preset}: {metrics.nodes} nodes, {metrics.frames_sent} frames in "
          f"{metrics.duration_s / 3600:.2f} h simulated")
    print(f"  SOS delivered to the gateway: {metrics.sos_delivered_ratio:.1%} of {metrics.sos_sent} "
          f"({metrics.sos_delivered_ratio_covered:.1%} from the {metrics.covered_buttons_ratio:.0%} "
          "of buttons in reach)")
    print(f"  button saw its ACK: {metrics.button_ack_ratio:.1%}, median {metrics.button_ack.p50_s} s")
    print(f"  reachability {metrics.reachability}, usefulness {metrics.usefulness}, "
          f"collision rate {metrics.collision_rate}, gateway channel max {metrics.channel_util_gateway_max:.0%}")
    if args.plots:
        for path in _write_plots(model, metrics, args.plots):
            print(f"  plot: {path}")
    if args.summary_json:
        print(json.dumps(metrics.as_json()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
