"""Water-level frames -> readings, quality counters, flood alerts and report-interval downlinks.

Per reading only what must be per reading: the pure quality control and flood rules (LevelIngest)
and, rarely, an alert or a config downlink. The rest is per batch or per slice: the readings go into
the store one statement per slice of staged readings (``flush``, between uplinks), the quality
counters and ``rules_evaluated`` in one update each and each station's rule state once (``finish``).
Readings are staged until their slice is flushed; an uplink whose handling fails is taken back out
and its event ids given back (``mark``/``undo``).
"""

from collections import Counter
from dataclasses import replace
from datetime import datetime

from central.ingest.batch_result import BatchResult, Outgoing
from central.ingest.downlink import DownlinkEncoder
from central.ingest.levels import LevelIngest, LevelOutcome
from central.ingest.verification import Heard
from central.store.base import QC_COUNTER_PREFIX, RULES_EVALUATED
from central.store.records import Reading, iso
from central.store.telemetry import LevelPoint
from central.store.transaction import StoreTx
from central.telemetry.alerts import alert_json, alerts_topic
from protocol import frames


class LevelUplinks:
    """Applies a batch's water-level readings; ``begin`` and ``finish`` bracket the batch's transaction."""

    def __init__(self, levels: LevelIngest, encoder: DownlinkEncoder) -> None:
        self.levels = levels
        self._encoder = encoder
        self._staged: list[tuple[Reading, LevelPoint | None, bool]] = []
        self._claimed: list[tuple[int, int, int]] = []  # event ids claimed by this batch's readings
        self._flagged: Counter[str] = Counter()  # quality flags of the readings flushed so far
        self._ran = 0  # readings flushed so far that ran the flood rules

    def begin(self, tx: StoreTx) -> None:
        """Start a batch: station rule states are read from the store as the batch first needs them."""
        self._staged.clear()
        self._claimed.clear()
        self._flagged.clear()
        self._ran = 0
        self.levels.begin_batch(tx.station_rule_state)

    def mark(self) -> tuple[int, int]:
        """Where the staged readings and claimed events end now (before an uplink is handled)."""
        return len(self._staged), len(self._claimed)

    def undo(self, tx: StoreTx, mark: tuple[int, int]) -> None:
        """The uplink's handling failed: forget what it staged and give back the event ids it claimed."""
        staged, claimed = mark
        del self._staged[staged:]
        for event in self._claimed[claimed:]:
            tx.unclaim_event(*event)
        del self._claimed[claimed:]

    def reading(self, tx: StoreTx, heard: Heard, now: datetime, out: BatchResult) -> bool:
        """Claim, assess and stage one reading, store or send what it raised; False if it is a duplicate.

        No savepoint around a reading (two more statements each, round trips on PostgreSQL): its one
        write here is the claim of its event id, which ``undo`` gives back if the uplink fails. Only a
        reading that raises an alert or a config downlink writes more, inside a savepoint of its own.
        """
        frame, wl = heard.frame, heard.frame.payload
        if not isinstance(wl, frames.WaterLevel):
            raise TypeError(f"not a water-level frame: {frame!r}")
        if not tx.claim_event(frame.node_id, frame.boot_epoch, frame.seq, frame.kind):
            return False
        self._claimed.append((frame.node_id, frame.boot_epoch, frame.seq))
        outcome: LevelOutcome = self.levels.reading(
            frame.node_id, frame.boot_epoch, frame.seq, frame.node_ts, heard.uplink.received_at,
            heard.record.station_id, wl,
        )
        if outcome.alerts or outcome.report_interval_s is not None:
            with tx.savepoint():
                self._raised(tx, heard, outcome, now, out)
        self._staged.append((outcome.reading, outcome.point, outcome.rules_ran))
        return True

    def _raised(self, tx: StoreTx, heard: Heard, outcome: LevelOutcome, now: datetime, out: BatchResult) -> None:
        frame = heard.frame
        for alert in outcome.alerts:
            stored = replace(alert, id=tx.insert_alert(alert))
            payload = alert_json(stored)
            out.alerts.extend(Outgoing(alerts_topic(ward), payload) for ward in stored.wards)
        if outcome.report_interval_s is not None:
            topic, payload = self._encoder.config(
                tx, heard.uplink, heard.record.key, frame.node_id, outcome.report_interval_s, now
            )
            out.downlinks.append(Outgoing(topic, payload))
            tx.set_report_interval(frame.node_id, outcome.report_interval_s, iso(now))
            tx.bump("config_sent")

    def flush(self, tx: StoreTx, out: BatchResult, at_least: int = 1) -> None:
        """Insert the staged readings once there are ``at_least`` of them (only between uplinks: see below).

        The processor calls this between the uplinks of a batch, so a batch that stops early for an
        SOS has only the last few readings left to insert (``finish``), not the whole batch's: the
        SOS's answer waits for that. Only between uplinks: ``undo`` takes back what an uplink staged
        by position, and an uplink's readings must not be inserted before it has been handled whole.
        """
        if len(self._staged) < at_least:
            return
        staged, self._staged = self._staged, []
        tx.insert_readings([reading for reading, _, _ in staged])
        self._flagged.update(reading.qc_reason for reading, _, _ in staged if reading.qc_reason is not None)
        out.points.extend(point for _, point, _ in staged if point is not None)
        ran = sum(rules_ran for _, _, rules_ran in staged)
        self._ran += ran
        out.rules_evaluated += ran

    def finish(self, tx: StoreTx, now: datetime, out: BatchResult) -> None:
        """Write the batch's staged readings, its counters and the station states it changed."""
        self.flush(tx, out)
        for reason, n in sorted(self._flagged.items()):
            tx.bump(QC_COUNTER_PREFIX + reason, n)
        if self._ran:
            tx.bump(RULES_EVALUATED, self._ran)
        for station_id, version, state in self.levels.changed_states():  # shared with other replicas
            tx.put_station_rule_state(station_id, version, state, iso(now))
