"""Clocks that jump: the nodes' (the time in their frames) and the gateway's (its wall clock)."""

import time
from datetime import datetime

from simulations.faults.campaign import Campaign
from simulations.faults.rig import RigError, read_rows, wait_for

# A clock that jumps: five minutes ahead or behind (an NTP step, a flat RTC battery), or a quarter of
# an hour back (a board that booted with its build date).
_CLOCK_JUMPS_S = (300, -300, -900)


def node_clock_jump(c: Campaign) -> None:
    """The nodes' clocks jump (+5 min, -5 min, -15 min) for a while, then back: events are told apart
    by (node, boot, seq), so none is taken for a repeat, and no alert is decided on a time gone back."""
    c.random_moment()
    alerts = _alerts(c)
    c.nodes.clock_offset_s = c.rng.choice(_CLOCK_JUMPS_S)
    try:
        c.traffic(c.rng.uniform(1.0, 3.0))
    finally:
        c.nodes.clock_offset_s = 0
    c.traffic(1.0)
    _check_alerts_in_time_order(c, alerts)


def gateway_clock_jump(c: Campaign) -> None:
    """The gateway's wall clock jumps (+5 min, -5 min, -15 min) while it runs, then jumps back: its
    monotonic timers go on, nothing it stores is taken for a repeat, no alert is decided on a time gone back."""
    c.random_moment()
    alerts = _alerts(c)
    jump = c.rng.choice(_CLOCK_JUMPS_S)
    c.rig.gateway_clock_file.write_text(str(jump))
    try:
        c.traffic(c.rng.uniform(1.0, 3.0))
        # The fault's own proof that it happened: central now gets readings stamped by the skewed clock.
        try:
            wait_for(lambda: abs(_newest_reading_skew(c) - jump) < 60, 30, f"readings heard {jump} s off")
        except RigError as exc:
            c.fail(f"the gateway's clock jump never showed at central: {exc}")
    finally:
        c.rig.gateway_clock_file.write_text("0")
    c.traffic(1.0)
    _check_alerts_in_time_order(c, alerts)


def _newest_reading_skew(c: Campaign) -> float:
    rows = read_rows(c.rig.central_db, "SELECT received_at FROM readings ORDER BY id DESC LIMIT 1")
    return datetime.fromisoformat(str(rows[0][0])).timestamp() - time.time() if rows else 0.0


def _alerts(c: Campaign) -> list[tuple[int, str, str]]:
    return [(int(i), str(s), str(at)) for i, s, at in read_rows(c.rig.central_db,
                                                                "SELECT id, station_id, at FROM alerts ORDER BY id")]


def _check_alerts_in_time_order(c: Campaign, before: list[tuple[int, str, str]]) -> None:
    # Each station's alerts are decided in the order of the readings' times: one decided on a time that
    # went back would carry an earlier time than an alert decided before it.
    latest: dict[str, str] = {}
    rows = _alerts(c)
    for _id, station, at in rows:
        if at < latest.get(station, ""):
            c.fail(f"alert {_id} of {station} decided at {at}, before an earlier alert's {latest[station]}")
        latest[station] = max(at, latest.get(station, ""))
    c.measure("alerts_checked", len(rows) - len(before))
