"""``floodmesh simulate hue-2023``: the scenario end to end, from one command.

Kept light: ``floodmesh central`` and ``floodmesh gateway`` build the same parser, so the scenario's
modules (matplotlib, SimPy, the processes' rig) are imported only when a scenario runs.
"""

import argparse
import json
import sys
from pathlib import Path

DEFAULT_SPEED = 720.0  # 72 simulated hours in 6 real minutes


def add_parser(sub: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    """``floodmesh simulate hue-2023 ...``."""
    simulate = sub.add_parser("simulate", help="run a scenario over the modelled mesh on the real processes")
    scenarios = simulate.add_subparsers(dest="scenario", required=True)
    hue = scenarios.add_parser("hue-2023", help="the Nov 2023 flood, the province cut off, 700 SOS")
    hue.add_argument("--hours", type=float, default=72.0, help="simulated hours (default 72)")
    hue.add_argument("--sos", type=int, default=700, help="SOS incidents (default 700)")
    hue.add_argument("--seed", type=int, default=7, help="seed of the whole scenario (default 7)")
    hue.add_argument("--speed", type=float, default=DEFAULT_SPEED,
                     help=f"simulated seconds per real second (default {DEFAULT_SPEED:g})")
    hue.add_argument("--wards", default="", help="comma-separated ward codes (default: the nine flooded wards "
                     "along the Hương and the Bồ)")
    hue.add_argument("--out", type=Path, default=None, help="write index.html, plots and summary.json here")
    hue.add_argument("--workdir", type=Path, default=None, help="keep the processes' files here (default: temp)")
    hue.add_argument("--summary-json", action="store_true", help="print one JSON summary line last")
    hue.set_defaults(func=run_command)


def run_command(args: argparse.Namespace) -> int:
    """Run the scenario; 0 when it ran (goals met or not: the report says), 1 when it could not run."""
    from simulations.hue2023.scenario import run_scenario
    from simulations.hue2023.timeline import KIM_LONG_WARDS, PHU_OC_WARDS, ScenarioConfig

    wards = tuple(w for w in args.wards.split(",") if w) or KIM_LONG_WARDS + PHU_OC_WARDS
    try:
        config = ScenarioConfig(hours=args.hours, sos=args.sos, seed=args.seed, wards=wards)
    except ValueError as exc:
        print(f"floodmesh simulate hue-2023: {exc}", file=sys.stderr)
        return 2
    try:
        summary = run_scenario(config, args.speed, args.out, args.workdir)
    except RuntimeError as exc:  # a process that did not come up (RigError): the message names its log
        print(f"floodmesh simulate hue-2023: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:  # the processes were stopped on the way out; a partial run has no report
        print("floodmesh simulate hue-2023: interrupted, no report written; run it again to get one "
              "(--hours and --speed make a shorter run)", file=sys.stderr)
        return 130
    if args.summary_json:
        print(json.dumps(summary, ensure_ascii=False))
    return 0


