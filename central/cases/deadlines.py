"""Deadlines per state and SOS kind (data, not code) and the escalation they trigger when missed."""

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from central.cases.history import OPEN_STATES, CaseState

NEXT_STEP = {"registered": "acknowledge", "acknowledged": "dispatch", "dispatched": "resolve"}


@dataclass(frozen=True)
class Deadlines:
    """Seconds allowed in each open state, per SOS kind name, with a ``default`` per state."""

    limits: Mapping[str, Mapping[str, int]]

    @classmethod
    def load(cls, path: Path) -> "Deadlines":
        """Read deadlines.json; keys starting with ``_`` are comments."""
        raw = json.loads(path.read_text(encoding="utf-8"))
        limits = {
            state: {kind: int(s) for kind, s in per_kind.items()}
            for state, per_kind in raw.items()
            if not state.startswith("_")
        }
        unknown = set(limits) - set(OPEN_STATES)
        if unknown:
            raise ValueError(f"deadlines for states that cannot be overdue: {sorted(unknown)}")
        return cls(limits)

    def allowed(self, state: str, kind: str) -> timedelta | None:
        """How long a case of ``kind`` may stay in ``state``; None if there is no deadline."""
        per_kind = self.limits.get(state)
        if not per_kind:
            return None
        seconds = per_kind.get(kind, per_kind.get("default"))
        return None if seconds is None else timedelta(seconds=seconds)

    def due(self, case: CaseState, kind: str) -> datetime | None:
        """When the open case must have moved on (measured from entering its state or its last escalation)."""
        if not case.is_open or case.state_since is None:
            return None
        allowed = self.allowed(case.state, kind)
        return None if allowed is None else case.state_since + allowed


@dataclass(frozen=True)
class Overdue:
    """A missed deadline: escalate the case to ``level`` of its chain (``to`` names that level)."""

    case_ref: str
    level: int
    to: str
    reason: str


def escalation(
    case: CaseState, kind: str, deadlines: Deadlines, chain: tuple[str, ...], now: datetime
) -> Overdue | None:
    """The escalation an overdue case needs now, or None (in time, closed, or already at the top of the chain)."""
    due = deadlines.due(case, kind)
    if due is None or now < due:
        return None
    level = case.escalation_level + 1
    if level > len(chain):
        return None
    return Overdue(case.case_ref, level, chain[level - 1], f"{NEXT_STEP[case.state]} overdue since {due.isoformat()}")
