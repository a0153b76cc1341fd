"""UplinkProcessor: a batch of (topic, payload) from MQTT -> stored events, downlinks and app acks.

Routing and the transaction live here; what each kind of uplink means lives in its own module:
``verification`` (envelope, topic, node, tag), ``case_uplinks`` (SOS, cancel, case histories),
``level_uplinks`` (readings, quality, flood rules), ``downlink`` (ACK and config frames), and
``batch_result`` (what is published after the commit). Pure apart from the store it is handed: no
MQTT here. A whole batch is one transaction, committed before anything is returned, so every app ack
it produces names an uplink that is durable.

A batch may be bounded in time: given ``yield_to`` (true while an SOS waits), processing stops once
``budget_s`` has passed, commits what it did, and hands the rest back (``BatchResult.left``) to be
queued again ahead of newer telemetry. So an SOS waits for at most a few milliseconds of telemetry
and one commit, never for a whole batch of a draining outbox.
"""

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime

from central.cases.deadlines import Deadlines
from central.cases.intake import CaseIntake
from central.cases.ledger import CaseLedger, Escalation
from central.cases.sync import HistorySync
from central.cases.triage import FloodNearby, worst
from central.core.config import DATA_DIR
from central.geo.ward_locator import WardLocator
from central.ingest.batch_result import AckBook, BatchResult, Outgoing
from central.ingest.case_uplinks import CaseUplinks
from central.ingest.downlink import DownlinkEncoder
from central.ingest.gateway_status import StatusRefused, read_status
from central.ingest.level_uplinks import LevelUplinks
from central.ingest.levels import LevelIngest
from central.ingest.verification import SIGNAL_DROPPED, Heard, Rejected, UplinkVerifier, parse_batch, parse_uplink
from central.store.base import CentralStore
from central.store.records import NodeHealth, iso
from central.store.telemetry import LevelPoint, TelemetryStore
from central.store.transaction import StoreTx
from central.telemetry.stations import Station
from protocol import frames, topics
from protocol.envelopes import Uplink, UplinkBatch
from protocol.registry import NodeRegistry

__all__ = ["BatchResult", "Outgoing", "Rejected", "UplinkProcessor", "utc_now"]

log = logging.getLogger(__name__)

_READINGS = frozenset({"water_level", "water_level_batch"})
# Readings are inserted in slices of this many as a batch goes (between uplinks), not all at its end:
# a batch that stops for an SOS then has at most a slice left to insert before its commit, and the SOS
# waits for that. Measured under 2,000 readings/s: inserting a whole stopped batch took 4-9 ms.
FLUSH_READINGS = 100

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    """The wall clock, timezone-aware."""
    return datetime.now(UTC)


class _Budget:
    """When a batch should stop early: its time is spent and something more urgent is waiting."""

    def __init__(self, yield_to: Callable[[], bool] | None, budget_s: float) -> None:
        self._yield_to = yield_to
        self._deadline = time.monotonic() + budget_s

    def spent(self) -> bool:
        return self._yield_to is not None and time.monotonic() >= self._deadline and self._yield_to()


class UplinkProcessor:
    """Verifies, dedupes and applies uplinks; returns the ACK downlinks and app acks to publish."""

    def __init__(
        self,
        registry: NodeRegistry,
        locator: WardLocator,
        stations: Mapping[str, Station],
        store: CentralStore,
        clock: Clock = utc_now,
        boot_epoch: int | None = None,
        telemetry: TelemetryStore | None = None,
        levels: LevelIngest | None = None,
        deadlines: Deadlines | None = None,
    ) -> None:
        self._stations = stations
        self._store = store
        self._clock = clock
        self._verifier = UplinkVerifier(registry)
        self.ledger = CaseLedger(deadlines or Deadlines.load(DATA_DIR / "deadlines.json"))
        self.intake = CaseIntake(locator, self.ledger, self.flood_near)
        self._encoder = DownlinkEncoder(store.next_boot_epoch() if boot_epoch is None else boot_epoch)
        self._cases = CaseUplinks(self.intake, self.ledger, HistorySync(self.intake, self.ledger, registry),
                                  self._encoder)
        self._telemetry = telemetry
        self.levels = levels or LevelIngest(stations, told=store.report_intervals())
        self._readings = LevelUplinks(self.levels, self._encoder)

    def flood_near(self, ward: str) -> FloodNearby:
        """The worst flood state of the stations in or warning ``ward`` (triage input)."""
        states = self.levels.states
        return worst(
            FloodNearby(states[st.id].rank, states[st.id].rising_fast)
            for st in self._stations.values()
            if st.id in states and (st.ward == ward or ward in st.wards_to_warn)
        )

    def check_deadlines(self) -> list[Escalation]:
        """Escalate every open case past its deadline (the service calls this periodically)."""
        with self._store.transaction() as tx:
            return self.ledger.escalate_overdue(tx, self._clock())

    def housekeeping(self) -> None:
        """The store's upkeep between transactions; called when no SOS waits (see IngestWorker)."""
        self._store.checkpoint()

    @property
    def boot_epoch(self) -> int:
        """Central's boot epoch as used in its current downlink frames."""
        return self._encoder.boot_epoch

    def process_batch(
        self, batch: Sequence[tuple[str, bytes]], yield_to: Callable[[], bool] | None = None, budget_s: float = 0.005,
    ) -> BatchResult:
        """Apply a batch in one transaction; a bad uplink is counted and refused, the rest go on.

        With ``yield_to``, stop after ``budget_s`` as soon as it says something more urgent waits: what
        was done is committed, the rest is in ``BatchResult.left``.
        """
        result = BatchResult()
        acks = AckBook()
        now = self._clock()
        budget = _Budget(yield_to, budget_s)
        self.levels.checkpoint()
        try:
            with self._store.transaction() as tx:
                self._readings.begin(tx)
                for index, (topic, payload) in enumerate(batch):
                    self._readings.flush(tx, result, FLUSH_READINGS)
                    if index and budget.spent():
                        # After what a cut ``up/batch`` message handed back (older, so first).
                        result.left.extend(batch[index:])
                        break
                    self._one(tx, topic, payload, now, acks, result, budget)
                self._readings.finish(tx, now, result)
        except BaseException:
            self.levels.rollback()
            raise
        result.app_acks = acks.messages()
        self._export(result.points)
        return result

    def _export(self, points: list[LevelPoint]) -> None:
        # After the commit: the read model has the readings; the time-series store is a copy.
        if self._telemetry is None or not points:
            return
        try:
            self._telemetry.write(points)
        except Exception:
            log.exception("telemetry store %s lost a batch of %d points", self._telemetry.name, len(points))

    def _one(
        self, tx: StoreTx, topic: str, payload: bytes, now: datetime, acks: AckBook, out: BatchResult, budget: _Budget,
    ) -> None:
        try:
            parsed = topics.parse(topic)
        except topics.TopicError:
            parsed = None
        if parsed is not None and parsed.direction == "status":
            self._status(tx, parsed, payload, now, out)
            return
        if parsed is None or parsed.direction != "up":
            self._reject(tx, Rejected("bad_topic", detail=topic), topic, out)
            return
        if parsed.leaf == "batch":
            self._batch(tx, parsed, topic, payload, now, acks, out, budget)
            return
        if parsed.leaf == "case_events":
            self._case_events(tx, parsed, payload, now, acks, out)
            return
        try:
            uplink, signal_dropped = parse_uplink(payload)
        except Rejected as exc:
            self._reject(tx, exc, topic, out)
            if exc.msg_id is not None:
                acks.refuse(parsed.ward, parsed.gateway, exc.msg_id, exc.reason)
            return
        if signal_dropped:
            tx.count_rejection(SIGNAL_DROPPED)
        self._accept(tx, parsed, uplink, now, acks, out, check_kind=True)

    def _status(self, tx: StoreTx, parsed: topics.Topic, payload: bytes, now: datetime, out: BatchResult) -> None:
        """A gateway's own status: stored for the dashboard, never acknowledged (it is state, not an uplink)."""
        try:
            tx.put_gateway_status(read_status(parsed, payload, now))
        except StatusRefused as exc:
            self._reject(tx, Rejected(exc.reason, None, exc.detail), f"{parsed.ward}/{parsed.gateway}/status", out)

    def _batch(
        self, tx: StoreTx, parsed: topics.Topic, topic: str, payload: bytes, now: datetime, acks: AckBook,
        out: BatchResult, budget: _Budget,
    ) -> None:
        """A gateway draining its outbox sends many frames per message: each is one uplink."""
        try:
            batch = parse_batch(payload)
        except Rejected as exc:
            self._reject(tx, exc, topic, out)
            return
        for msg_id in batch.refused:
            self._reject(tx, Rejected("invalid_envelope", msg_id, "an item of a batch"), topic, out)
            acks.refuse(parsed.ward, parsed.gateway, msg_id, "invalid_envelope")
        for _ in range(batch.unreadable):
            self._reject(tx, Rejected("invalid_envelope", None, "an item of a batch without a msg_id"), topic, out)
        for _ in range(batch.signal_dropped):
            tx.count_rejection(SIGNAL_DROPPED)
        for index, item in enumerate(batch.items):
            self._readings.flush(tx, out, FLUSH_READINGS)
            if index and budget.spent():
                # The rest of this message waits behind the SOS, as one message again (its own envelope).
                rest = UplinkBatch(gateway=batch.gateway, ward=batch.ward, items=batch.items[index:])
                out.left.append((topic, rest.model_dump_json().encode()))
                return
            uplink = Uplink.model_construct(
                v=1, msg_id=item.msg_id, gateway=batch.gateway, ward=batch.ward,
                received_at=item.received_at, rssi=item.rssi, snr=item.snr, frame=item.frame,
            )
            self._accept(tx, parsed, uplink, now, acks, out, check_kind=False)

    def _case_events(
        self, tx: StoreTx, parsed: topics.Topic, payload: bytes, now: datetime, acks: AckBook, out: BatchResult
    ) -> None:
        """A gateway's case history from its time alone: union it with central's, then ack it as a whole."""
        topic = f"{parsed.ward}/{parsed.gateway}/up/case_events"
        try:
            msg_id = self._cases.history(tx, parsed, payload, now)
        except Rejected as exc:
            self._reject(tx, exc, topic, out)
            if exc.msg_id is not None:
                acks.refuse(parsed.ward, parsed.gateway, exc.msg_id, exc.reason)
            return
        except Exception:
            log.exception("case history on %s failed; left unacknowledged", topic)
            return
        out.accepted += 1
        acks.durable(parsed.ward, parsed.gateway, msg_id)

    def _accept(
        self, tx: StoreTx, parsed: topics.Topic, uplink: Uplink, now: datetime, acks: AckBook, out: BatchResult,
        check_kind: bool,
    ) -> None:
        mark = self._readings.mark()
        try:
            heard = self._verifier.verify(parsed, uplink, check_kind)
            if heard.frame.kind in _READINGS:
                self._apply(tx, heard, now, out)  # undone by LevelUplinks.undo, not a savepoint (see there)
            else:
                with tx.savepoint():
                    self._apply(tx, heard, now, out)
        except Rejected as exc:
            self._readings.undo(tx, mark)
            self._reject(tx, exc, f"{parsed.ward}/{parsed.gateway}/up/{parsed.leaf}", out)
            if exc.msg_id is not None:
                acks.refuse(parsed.ward, parsed.gateway, exc.msg_id, exc.reason)
            return
        except Exception:
            # A bug, not a bad uplink: leave it unacknowledged so the gateway retries after the fix.
            self._readings.undo(tx, mark)
            log.exception("uplink on %s/%s/up/%s failed; left unacknowledged", parsed.ward, parsed.gateway, parsed.leaf)
            return
        out.accepted += 1
        acks.durable(parsed.ward, parsed.gateway, heard.uplink.msg_id)

    def _reject(self, tx: StoreTx, exc: Rejected, topic: str, out: BatchResult) -> None:
        log.warning("uplink rejected: %s (topic %s, msg_id %s)", exc, topic, exc.msg_id)
        tx.count_rejection(exc.reason)
        out.rejected += 1

    def _apply(self, tx: StoreTx, heard: Heard, now: datetime, out: BatchResult) -> None:
        frame = heard.frame
        if frame.kind == "water_level_batch":
            # Each reading of a batch has its own (node, boot, seq): deduped and assessed as a single one.
            for reading in frames.split_batch(frame):
                self._apply(tx, replace(heard, frame=reading), now, out)
            return
        if frame.kind == "water_level":
            if not self._readings.reading(tx, heard, now, out):
                out.duplicates += 1
                tx.bump("duplicates")
            return
        if not tx.claim_event(frame.node_id, frame.boot_epoch, frame.seq, frame.kind):
            out.duplicates += 1
            tx.bump("duplicates")
            self._cases.replayed(tx, heard, now, out)
            return
        if frame.kind == "sos":
            self._cases.sos(tx, heard, now, out)
        elif frame.kind == "sos_cancel":
            self._cases.cancel(tx, heard, now, out)
        elif frame.kind == "node_status":
            tx.upsert_node_status(_health(heard))


def _health(heard: Heard) -> NodeHealth:
    frame, st = heard.frame, heard.frame.payload
    if not isinstance(st, frames.NodeStatus):
        raise TypeError(f"not a node-status frame: {frame!r}")
    up = heard.uplink
    return NodeHealth(
        frame.node_id, frame.boot_epoch, frame.seq, frame.node_ts, iso(up.received_at),
        st.battery_pct, st.uptime_s, st.unsent, up.gateway, up.ward,
    )
