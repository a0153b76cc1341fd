"""LevelIngest: a water-level frame -> stored reading with quality flags, flood alerts, config downlinks.

Holds what the pure rules need between readings (per-sensor history for quality control, per-station
rule state) and hands back what the processor must store and publish. Its state is only committed
when the batch is: ``checkpoint()``/``rollback()`` bracket a batch, so a failed batch is replayed
from the same state when the gateways resend it.

The station rule state also lives in the shared store (``begin_batch``/``changed_states``): the first
reading of a station in a batch re-reads it when another replica has written a newer version, and
the states the batch changed are written back in the same transaction. So a restarted central, or
another replica, continues the level in force and the trend instead of starting from "no alert".
"""

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

from central.store.records import Reading, StoredAlert, iso
from central.store.telemetry import LevelPoint
from central.telemetry import quality
from central.telemetry.alerts import mesh_text
from central.telemetry.reporting import ReportingPolicy
from central.telemetry.rule_state import decode_state, encode_state
from central.telemetry.rules import FloodRules, StationState
from central.telemetry.stations import Station
from protocol import frames

_HISTORY = 32  # samples per sensor kept for spike and flat-line tests

StateLoader = Callable[[str], tuple[int, str] | None]
"""(version, encoded state) of a station in the shared store, or None if it has none yet."""


@dataclass
class LevelOutcome:
    """What one reading asks of the processor."""

    reading: Reading
    point: LevelPoint | None
    alerts: list[StoredAlert] = field(default_factory=list)
    report_interval_s: int | None = None  # a config downlink to send to the sensor
    rules_ran: bool = False  # the reading passed quality control and the flood rules evaluated it


class LevelIngest:
    """Quality control, flood rules and adaptive reporting for the stations' sensors."""

    def __init__(
        self,
        stations: Mapping[str, Station],
        rules: FloodRules | None = None,
        policy: ReportingPolicy | None = None,
        told: Mapping[int, int] | None = None,
    ) -> None:
        self._stations = stations
        self._limits = {sid: quality.limits_for(st.datum_m, st.record_m) for sid, st in stations.items()}
        self.rules = rules or FloodRules()
        self.policy = policy or ReportingPolicy()
        self.states: dict[str, StationState] = {sid: StationState() for sid in stations}
        self._history: dict[int, tuple[quality.Sample, ...]] = {}
        self._told: dict[int, int] = dict(told or {})
        self._versions: dict[str, int] = {}  # the shared store's version each station's state came from
        self._load: StateLoader | None = None
        self._fresh: set[str] = set()  # stations checked against the store in this batch
        self._changed: set[str] = set()
        self._saved: tuple[dict[str, StationState], dict[int, tuple[quality.Sample, ...]], dict[int, int],
                           dict[str, int]] | None = None

    def checkpoint(self) -> None:
        """Remember the state at the start of a batch."""
        self._saved = (dict(self.states), dict(self._history), dict(self._told), dict(self._versions))

    def rollback(self) -> None:
        """Back to the last checkpoint (the batch was not committed)."""
        if self._saved is not None:
            states, history, told, versions = self._saved
            self.states, self._history, self._told = dict(states), dict(history), dict(told)
            self._versions = dict(versions)
        self._load, self._fresh, self._changed = None, set(), set()

    def begin_batch(self, load: StateLoader) -> None:
        """Read station states from the shared store (through ``load``) as this batch first needs them."""
        self._load, self._fresh, self._changed = load, set(), set()

    def changed_states(self) -> list[tuple[str, int, str]]:
        """(station, new version, encoded state) of every station this batch changed, to store with it."""
        out = []
        for sid in sorted(self._changed):
            version = self._versions.get(sid, 0) + 1
            self._versions[sid] = version
            out.append((sid, version, encode_state(self.states[sid])))
        self._load, self._fresh, self._changed = None, set(), set()
        return out

    def _refresh(self, station_id: str) -> None:
        self._fresh.add(station_id)
        row = self._load(station_id) if self._load is not None else None
        if row is not None and row[0] != self._versions.get(station_id):
            # Another replica (or this central before a restart) moved the station on: continue from there.
            self._versions[station_id] = row[0]
            self.states[station_id] = decode_state(row[1])

    def reading(
        self, node_id: int, boot_epoch: int, seq: int, node_ts: int, heard: datetime, station_id: str | None,
        wl: frames.WaterLevel,
    ) -> LevelOutcome:
        """Assess one reading and run the station's rules on it if it passed."""
        station = self._stations.get(station_id) if station_id else None
        heard_t = heard.timestamp()
        heard_iso = iso(heard)
        if station is None:
            reading = Reading(node_id, boot_epoch, seq, station_id, node_ts, heard_iso, wl.distance_mm, None,
                              wl.battery_pct, wl.flags, quality.MISSING, "unknown_station", heard_iso)
            return LevelOutcome(reading, None)
        faulty = bool(wl.flags & frames.WL_SENSOR_FAULT)
        level = None if faulty else station.level_m(wl.distance_mm)
        sample = quality.Sample(float(node_ts), level)
        history = self._history.get(node_id, ())
        qc = quality.assess(self._limits[station.id], history, sample, heard_t)
        reason = "sensor_fault" if faulty else qc.reason
        on_time = qc.tests.get("timestamp") == quality.PASS
        t = float(node_ts) if on_time else heard_t
        if on_time and level is not None and (qc.flag != quality.FAIL or reason == "flat_line"):
            # A failed value must not become the reference the next readings are judged against.
            self._history[node_id] = (*history, sample)[-_HISTORY:]
        at_iso = iso(datetime.fromtimestamp(t, UTC))
        reading = Reading(node_id, boot_epoch, seq, station.id, node_ts, heard_iso, wl.distance_mm, level,
                          wl.battery_pct, wl.flags, qc.flag, reason, at_iso)
        out = LevelOutcome(reading, None)
        if self._load is not None and station.id not in self._fresh:
            self._refresh(station.id)
        state = self.states[station.id]
        if qc.usable and level is not None and math.isfinite(level):
            state, events = self.rules.evaluate(station, state, t, level)
            self.states[station.id] = state
            self._changed.add(station.id)
            out.rules_ran = True
            out.alerts = [
                StoredAlert(0, station.id, station.name, ev.kind, ev.level, ev.level_m, ev.rate_m_per_h,
                            ev.eta_next_s, ev.next_level, at_iso,
                            station.wards_to_warn, mesh_text(station, ev))
                for ev in events
            ]
        out.point = LevelPoint(station.id, station.river, station.ward, node_id, int(t), level, wl.distance_mm,
                               wl.battery_pct, qc.flag, state.rank)
        interval = self.policy.downlink_needed(state, self._told.get(node_id))
        if interval is not None:
            self._told[node_id] = interval
            out.report_interval_s = interval
        return out
