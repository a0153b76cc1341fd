"""A station's flood-rule state as text for the shared store, so any central replica continues it.

The level in force, the pending confirmation of a change, the rising-fast flag and the trend window
are what ``FloodRules.evaluate`` folds readings into; a replica that takes over a station (or a
central that restarts) reads them back instead of starting from "no alert" and an empty trend.
Pure: no store, no clock.
"""

import base64
import binascii
import json
import sys
from array import array
from typing import Any

from central.telemetry.rules import StationState
from central.telemetry.trend import TrendWindow


class RuleStateError(ValueError):
    """Stored text that is not a station state written by ``encode_state``."""


def encode_state(state: StationState) -> str:
    """``state`` as compact JSON; the trend window as base64 of little-endian doubles t0, v0, t1, v1, ...

    Every batch writes the state of each station it touched, and the window holds hours of readings:
    packed doubles cost a copy in C where JSON would format every float (and keep every bit of it).
    """
    packed = state.trend.packed()
    if sys.byteorder != "little":
        packed.byteswap()
    return json.dumps({"rank": state.rank, "rising_fast": state.rising_fast, "pending": state.pending,
                       "pending_dir": state.pending_dir, "last_t": state.last_t,
                       "trend_f64": base64.b64encode(packed.tobytes()).decode()}, separators=(",", ":"))


def _trend_points(raw: dict[str, Any]) -> list[tuple[float, float]]:
    if "trend_f64" not in raw:  # written before the packed form: [[t, level], ...]
        return [(float(t), float(v)) for t, v in raw["trend"]]
    packed = array("d", base64.b64decode(raw["trend_f64"], validate=True))
    if sys.byteorder != "little":
        packed.byteswap()
    if len(packed) % 2:
        raise ValueError("odd number of doubles in the trend window")
    return list(zip(packed[0::2], packed[1::2], strict=True))


def decode_state(text: str) -> StationState:
    """The state ``encode_state`` wrote."""
    try:
        raw = json.loads(text)
        points = _trend_points(raw)
        last_t = raw["last_t"]
        return StationState(rank=int(raw["rank"]), rising_fast=bool(raw["rising_fast"]),
                            trend=TrendWindow.of(points), pending=int(raw["pending"]),
                            pending_dir=int(raw["pending_dir"]), last_t=None if last_t is None else float(last_t))
    except (ValueError, KeyError, TypeError, binascii.Error) as exc:
        raise RuleStateError(f"stored flood-rule state is unreadable ({exc}): delete its station_rule_state "
                             "row to restart that station's rules from no alert") from exc
