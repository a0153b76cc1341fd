"""``python -m simulations.faults``: the fault campaign outside the test run.

Each round applies one fault (round-robin over the chosen faults, in an order shuffled by the seed)
at a random moment of flowing traffic, then drains and asks the ledger; the counts per fault say
what each fault cost. ``--summary-json`` prints one JSON line; the exit code is 0 only when nothing
was lost, duplicated or unexpected and every fault's own check passed.
"""

import argparse
import json
import logging
import signal
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from simulations.faults.campaign import Campaign
from simulations.faults.catalog import FAULTS, RIG_OF
from simulations.faults.ledger import Kind, Verdict
from simulations.faults.plot import plot_rounds, read_rounds
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


def _play(campaign: Campaign, plan: list[str], progress: Progress, done: int, per_fault: dict[str, dict[str, int]],
          seen: set[tuple[str, Kind, tuple[int, int, int]]]) -> None:
    """Run ``plan`` (fault names, one a round) on ``campaign``, each round drained and judged."""
    campaign.start()
    try:
        campaign.traffic(1.0)
        for i, name in enumerate(plan):
            progress.show(done + i, name)
            started = time.monotonic()
            try:
                FAULTS[name](campaign)
            except Exception as exc:  # a fault that went wrong is a finding, and the campaign goes on
                campaign.fail(f"{name} round {done + i}: {exc!r}")
                campaign.nodes.pressing = True
                campaign.rig.ensure_running()
            campaign.faults[name] += 1
            fault_s = time.monotonic() - started
            counts = _new_items(campaign.close_epoch(), seen)
            # One line per round as it ends: a campaign cut short still says what it saw.
            with (campaign.workdir / "rounds.jsonl").open("a") as log:
                log.write(json.dumps({"round": done + i, "fault": name, **counts,
                                      "checks_failed": len(campaign.failures), "fault_s": round(fault_s, 1),
                                      "drain_s": round(time.monotonic() - started - fault_s, 1)}) + "\n")
            row = per_fault[name]
            row["rounds"] += 1
            for key, value in counts.items():
                row[key] += value
        _new_items(campaign.close_epoch(), seen)
    finally:
        campaign.stop()


def run(args: argparse.Namespace) -> dict[str, object]:
    """Run the campaign; return the summary."""
    names = [n.strip() for n in args.faults.split(",") if n.strip()]
    unknown = [n for n in names if n not in FAULTS]
    if unknown:
        raise SystemExit(f"unknown fault(s) {unknown}: choose from {', '.join(FAULTS)}")
    rounds = len(names) if args.quick else args.rounds
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="floodmesh-faults-"))
    timings = RigTimings(keepalive_s=args.keepalive_s)
    main = Campaign(workdir / "rig", args.seed, timings, sigstop_s=args.sigstop_s)
    # Faults that need the gateway's outbox on a disk of their own (RIG_OF) run on rigs of their own.
    rigs = {"main": main,
            "disk": Campaign(workdir / "disk-rig", args.seed + 1,
                             replace(timings, outbox_disk_bytes=16 * 1024 * 1024), sigstop_s=args.sigstop_s),
            "power": Campaign(workdir / "power-rig", args.seed + 2, replace(timings, outbox_power_loss=True),
                              sigstop_s=args.sigstop_s)}
    order = list(names)
    if not args.quick:
        main.rng.shuffle(order)
    plan = [order[i % len(order)] for i in range(rounds)]
    per_fault = {n: {"rounds": 0, "lost": 0, "duplicated": 0, "unexpected": 0} for n in names}
    seen: set[tuple[str, Kind, tuple[int, int, int]]] = set()
    progress = Progress(rounds)
    t0 = time.monotonic()
    parts = [(campaign, [n for n in plan if RIG_OF.get(n, "main") == kind]) for kind, campaign in rigs.items()]
    try:
        done = 0
        for campaign, part in parts:
            if part:
                _play(campaign, part, progress, done, per_fault, seen)
                done += len(part)
        progress.show(rounds, "done")
    finally:
        progress.end()
    ran = [c for c, part in parts if part]
    plot = plot_rounds(read_rounds([c.workdir / "rounds.jsonl" for c in ran]), names, workdir / "faults.png",
                       f"fault campaign: {rounds} rounds, seed {args.seed}")
    verdict = ran[0].verdict
    for other in ran[1:]:
        verdict = verdict.merged(other.verdict)
    return {
        "rounds": rounds, "seed": args.seed, "faults": {n: sum(c.faults[n] for c in ran) for n in names},
        **verdict.counts(), "acknowledged": verdict.acknowledged, "per_fault": per_fault,
        "fault_checks_failed": [f for c in ran for f in c.failures],
        "measures": {k: v for c in ran for k, v in c.measures.items()},
        "seconds": round(time.monotonic() - t0, 1), "workdir": str(workdir), "plot": str(plot),
        "examples": {"lost": [str(x) for x in verdict.lost[:5]], "duplicated": [str(x) for x in verdict.duplicated[:5]],
                     "unexpected": [str(x) for x in verdict.unexpected[:5]]},
    }


def main(argv: list[str] | None = None) -> int:
    """Entry point; exit 0 only for a clean campaign."""
    args = _parser().parse_args(argv)
    # Started in the background by a shell, this process (and so every child it starts) would ignore
    # SIGINT, and a polite stop of central or the gateway would look like a hang: take it back.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    summary = run(args)
    # The summary is kept beside the rounds' log and the plot, for the README's table.
    Path(str(summary["workdir"]), "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    if args.summary_json:
        print(json.dumps(summary))
    else:
        print(json.dumps(summary, indent=2))
    clean = summary["lost"] == summary["duplicated"] == summary["unexpected"] == 0
    return 0 if clean and not summary["fault_checks_failed"] else 1


if __name__ == "__main__":
    sys.exit(main())
