"""Triage: a priority from what the SOS says and how the river near it is doing (1 = most urgent)."""

from collections.abc import Iterable
from dataclasses import dataclass

from protocol.frames import SOS_KINDS

KIND_WEIGHT = {"medical": 4, "trapped": 4, "evacuation": 3, "help": 2, "supplies": 1}
PRIORITIES = (1, 2, 3, 4)


@dataclass(frozen=True)
class FloodNearby:
    """The river near a case: the alert rank in force (0 none .. 3 BD3) and whether it is rising fast."""

    rank: int = 0
    rising_fast: bool = False


def worst(floods: Iterable[FloodNearby]) -> FloodNearby:
    """The most serious of several stations' states."""
    rank, rising = 0, False
    for f in floods:
        rank, rising = max(rank, f.rank), rising or f.rising_fast
    return FloodNearby(rank, rising)


def score(kind: int, people: int, vulnerable: int, flood: FloodNearby) -> int:
    """Urgency points: kind, each vulnerable group, the number of people, the flood and its trend."""
    name = SOS_KINDS[kind] if 0 <= kind < len(SOS_KINDS) else "help"
    points = KIND_WEIGHT[name]
    points += bin(vulnerable & 0x0F).count("1")
    points += 2 if people >= 10 else 1 if people >= 5 else 0
    points += flood.rank + (1 if flood.rising_fast else 0)
    return points


def priority(kind: int, people: int, vulnerable: int, flood: FloodNearby = FloodNearby()) -> int:
    """Priority 1 (score >= 8), 2 (>= 6), 3 (>= 4) or 4."""
    points = score(kind, people, vulnerable, flood)
    return 1 if points >= 8 else 2 if points >= 6 else 3 if points >= 4 else 4
