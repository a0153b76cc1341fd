"""``python -m simulations.faults``: the fault campaign outside the test run.

Each round applies one fault (round-robin over the chosen faults, in an order shuffled by the seed)
at a random moment of flowing traffic, then drains and asks the ledger; the counts per fault say
what each fault cost. ``--summary-json`` prints one JSON line; the exit code is 0 only when nothing
was lost, duplicated or unexpected and every fault's own check passed.
"""

import argparse
import json
import logging
import sys
import tempfile
import time
from pathlib import Path

from simulations.faults.campaign import Campaign
from simulations.faults.catalog import FAULTS
from simulations.faults.ledger import Kind, Verdict
from simulations.faults.rig import RigTimings


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m simulations.faults", description=__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=20, help="fault rounds (default 20)")
    p.add_argument("--seed", type=int, default=1, help="seed of every random choice (default 1)")
    p.add_argument("--quick", action="store_true", help="one round of every fault (under five minutes)")
    p.add_argument("--faults", default=",".join(FAULTS), help=f"comma-separated subset of: {', '.join(FAULTS)}")
    p.add_argument("--sigstop-s", type=float, default=3.0, help="how long central stays SIGSTOPped (default 3)")
    p.add_argument("--keepalive-s", type=int, default=2, help="the gateway's MQTT keepalive (default 2)")
    p.add_argument("--workdir", type=Path, help="keep the rig's files and logs here (default: a temporary dir)")
    p.add_argument("--summary-json", action="store_true", help="print one JSON summary line on stdout")
    return p


class Progress:
    """A one-line progress bar on stderr (rounds done, elapsed, per-fault verdicts so far)."""

    def __init__(self, total: int) -> None:
        self.total, self.t0 = total, time.monotonic()

    def show(self, done: int, note: str) -> None:
        """Redraw the bar."""
        width = 30
        filled = width * done // max(1, self.total)
        elapsed = time.monotonic() - self.t0
        eta = elapsed / done * (self.total - done) if done else 0.0
        sys.stderr.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{self.total} "
                         f"{elapsed:5.0f}s eta {eta:5.0f}s {note[:60]:<60}")
        sys.stderr.flush()

    def end(self) -> None:
        """Finish the line."""
        sys.stderr.write("\n")


def _new_items(verdict: Verdict, seen: set[tuple[str, Kind, tuple[int, int, int]]]) -> dict[str, int]:
    # Duplicates and unexpected items stay in central's store: count each once, for the round that made it.
    counts = {}
    for name, items in (("lost", verdict.lost), ("duplicated", verdict.duplicated),
                        ("unexpected", verdict.unexpected)):
        fresh = {(name, kind, event) for kind, event in items} - seen
        seen |= fresh
        counts[name] = len(fresh)
    return counts


def run(args: argparse.Namespace) -> dict[str, object]:
    """Run the campaign; return the summary."""
    names = [n.strip() for n in args.faults.split(",") if n.strip()]
    unknown = [n for n in names if n not in FAULTS]
    if unknown:
        raise SystemExit(f"unknown fault(s) {unknown}: choose from {', '.join(FAULTS)}")
    rounds = len(names) if args.quick else args.rounds
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="floodmesh-faults-"))
    campaign = Campaign(workdir, args.seed, RigTimings(keepalive_s=args.keepalive_s), sigstop_s=args.sigstop_s)
    order = list(names)
    if not args.quick:
        campaign.rng.shuffle(order)
    per_fault: dict[str, dict[str, int]] = {n: {"rounds": 0, "lost": 0, "duplicated": 0, "unexpected": 0}
                                             for n in names}
    seen: set[tuple[str, Kind, tuple[int, int, int]]] = set()
    progress = Progress(rounds)
    t0 = time.monotonic()
    campaign.start()
    try:
        campaign.traffic(1.0)
        for i in range(rounds):
            name = order[i % len(order)]
            progress.show(i, f"{name}")
            FAULTS[name](campaign)
            campaign.faults[name] += 1
            counts = _new_items(campaign.close_epoch(), seen)
            row = per_fault[name]
            row["rounds"] += 1
            for key, value in counts.items():
                row[key] += value
        progress.show(rounds, "final drain")
        _new_items(campaign.close_epoch(), seen)
    finally:
        progress.end()
        campaign.stop()
    v = campaign.verdict
    return {
        "rounds": rounds, "seed": args.seed, "faults": dict(campaign.faults), **v.counts(),
        "acknowledged": v.acknowledged, "held_at_central": v.held, "per_fault": per_fault,
        "fault_checks_failed": campaign.failures, "measures": campaign.measures,
        "seconds": round(time.monotonic() - t0, 1), "workdir": str(workdir),
        "examples": {"lost": [str(x) for x in v.lost[:5]], "duplicated": [str(x) for x in v.duplicated[:5]],
                     "unexpected": [str(x) for x in v.unexpected[:5]]},
    }


def main(argv: list[str] | None = None) -> int:
    """Entry point; exit 0 only for a clean campaign."""
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    summary = run(args)
    if args.summary_json:
        print(json.dumps(summary))
    else:
        print(json.dumps(summary, indent=2))
    clean = summary["lost"] == summary["duplicated"] == summary["unexpected"] == 0
    return 0 if clean and not summary["fault_checks_failed"] else 1


if __name__ == "__main__":
    sys.exit(main())
