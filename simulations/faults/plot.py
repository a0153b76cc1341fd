"""The campaign as a picture: one row per fault, one mark per round, coloured by what the round cost."""

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # after use("Agg"): the backend is chosen before pyplot loads

# What a round's mark says, worst first: the ledger's three findings, a fault's own check, or clean.
_OUTCOMES = (("lost", "#c0392b"), ("duplicated", "#8e44ad"), ("unexpected", "#d35400"),
             ("check failed", "#f1c40f"), ("clean", "#27ae60"))


def read_rounds(paths: Sequence[Path]) -> list[dict[str, Any]]:
    """Every round of the campaign's rounds.jsonl files, with ``checks_failed`` made per round."""
    rounds: list[dict[str, Any]] = []
    for path in paths:
        if not path.exists():
            continue
        failed_so_far = 0
        for line in path.read_text().splitlines():
            row = json.loads(line)
            row["checks_failed_here"] = row["checks_failed"] - failed_so_far
            failed_so_far = row["checks_failed"]
            rounds.append(row)
    return sorted(rounds, key=lambda r: int(r["round"]))


def outcome(row: dict[str, Any]) -> str:
    """The worst thing a round did."""
    for name in ("lost", "duplicated", "unexpected"):
        if row[name]:
            return name
    return "check failed" if row["checks_failed_here"] else "clean"


def plot_rounds(rounds: Sequence[dict[str, Any]], faults: Sequence[str], out: Path, title: str) -> Path:
    """Faults x rounds, each mark coloured by its outcome; the per-fault tally on the right."""
    rows = {name: i for i, name in enumerate(reversed(list(faults)))}
    fig, ax = plt.subplots(figsize=(12, 0.42 * len(rows) + 1.8))
    for name, colour in _OUTCOMES:
        picked = [r for r in rounds if outcome(r) == name and r["fault"] in rows]
        ax.scatter([int(r["round"]) for r in picked], [rows[r["fault"]] for r in picked], c=colour, s=22,
                   marker="s", label=f"{name} ({len(picked)})", zorder=3)
    ax.set_yticks(list(rows.values()), list(rows))
    last = max((int(r["round"]) for r in rounds), default=0)
    for fault, y in rows.items():
        mine = [r for r in rounds if r["fault"] == fault]
        bad = sum(outcome(r) != "clean" for r in mine)
        ax.text(last + 1.5, y, f"{len(mine)} rounds, {bad} not clean", va="center", fontsize=8)
    ax.set_xlim(-1, last * 1.22 + 8)
    ax.set_ylim(-0.7, len(rows) - 0.3)
    ax.set_xlabel("round")
    ax.grid(axis="x", alpha=0.3)
    ax.set_title(title)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.12 - 1.2 / (len(rows) + 4)), ncol=len(_OUTCOMES),
              fontsize=8, frameon=False)
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out
