"""A station's flood-rule state as text for the shared store, so any central replica continues it.

The level in force, the pending confirmation of a change, the rising-fast flag and the trend window
are what ``FloodRules.evaluate`` folds readings into; a replica that takes over a station (or a
central that restarts) reads them back instead of starting from "no alert" and an empty trend.
Pure: no store, no clock.
"""

import json

from central.telemetry.rules import StationState
from central.telemetry.trend import TrendWindow


class RuleStateError(ValueError):
    """Stored text that is not a station state written by ``encode_state``."""


def encode_state(state: StationState) -> str:
    """``state`` as compact JSON (the trend window as [t, level] pairs, oldest first)."""
    return json.dumps({"rank": state.rank, "rising_fast": state.rising_fast, "pending": state.pending,
                       "pending_dir": state.pending_dir, "last_t": state.last_t,
                       "trend": [[t, v] for t, v in state.trend.points]}, separators=(",", ":"))


def decode_state(text: str) -> StationState:
    """The state ``encode_state`` wrote."""
    try:
        raw = json.loads(text)
        points = [(float(t), float(v)) for t, v in raw["trend"]]
        last_t = raw["last_t"]
        return StationState(rank=int(raw["rank"]), rising_fast=bool(raw["rising_fast"]),
                            trend=TrendWindow.of(points), pending=int(raw["pending"]),
                            pending_dir=int(raw["pending_dir"]), last_t=None if last_t is None else float(last_t))
    except (ValueError, KeyError, TypeError) as exc:
        raise RuleStateError(f"stored flood-rule state is unreadable ({exc}): delete its station_rule_state "
                             "row to restart that station's rules from no alert") from exc
