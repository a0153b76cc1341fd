"""UplinkProcessor: a batch of (topic, payload) from MQTT -> stored events, downlinks and app acks.

Pure apart from the store it is handed: no MQTT here. A whole batch is one transaction, committed
before anything is returned, so every app ack it produces names an uplink that is durable.
"""

import json
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

from pydantic import ValidationError

from central.cases.deadlines import Deadlines
from central.cases.intake import AckPlan, CaseIntake
from central.cases.ledger import CaseLedger, Escalation
from central.cases.notify import case_text, officers_on_radio, text_payload, text_topic
from central.cases.provenance import Publisher
from central.cases.sync import HistoryRefused, HistorySync
from central.cases.triage import FloodNearby, worst
from central.core.config import DATA_DIR
from central.geo.ward_locator import WardLocator
from central.ingest.downlink import DownlinkEncoder
from central.ingest.gateway_status import StatusRefused, read_status
from central.ingest.levels import LevelIngest, LevelOutcome
from central.store.base import QC_COUNTER_PREFIX, RULES_EVALUATED, CentralStore
from central.store.records import NodeHealth, iso
from central.store.telemetry import LevelPoint, TelemetryStore
from central.store.transaction import StoreTx
from central.telemetry.alerts import alert_json, alerts_topic
from central.telemetry.stations import Station
from protocol import frames, topics
from protocol.envelopes import AppAck, CaseEvents, Refusal, Uplink, UplinkBatch
from protocol.registry import NodeRecord, NodeRegistry

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    """The wall clock, timezone-aware."""
    return datetime.now(UTC)


@dataclass(frozen=True)
class Outgoing:
    """One MQTT message to publish at QoS 1."""

    topic: str
    payload: str
    retain: bool = False


@dataclass
class BatchResult:
    """What a processed batch asks the MQTT side to publish, and how it went."""

    downlinks: list[Outgoing] = field(default_factory=list)
    app_acks: list[Outgoing] = field(default_factory=list)
    alerts: list[Outgoing] = field(default_factory=list)  # flood alerts, one per affected ward
    texts: list[Outgoing] = field(default_factory=list)  # text messages to duty officers' radios
    points: list[LevelPoint] = field(default_factory=list)  # readings for the TelemetryStore
    accepted: int = 0
    duplicates: int = 0
    rejected: int = 0
    rules_evaluated: int = 0  # readings the flood rules ran on


class Rejected(Exception):
    """An uplink central will never accept; ``reason`` is counted, ``msg_id`` refused if known."""

    def __init__(self, reason: str, msg_id: int | None = None, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.msg_id = msg_id


@dataclass(frozen=True)
class _Heard:
    """One verified uplink: where it came in, from which node, and the frame."""

    uplink: Uplink
    record: NodeRecord
    frame: frames.Frame


class _AckBook:
    """App acks grouped per gateway topic, in arrival order."""

    def __init__(self) -> None:
        self._book: dict[str, tuple[list[int], list[Refusal]]] = {}

    def _entry(self, ward: str, gateway: str) -> tuple[list[int], list[Refusal]]:
        return self._book.setdefault(topics.app_ack(ward, gateway), ([], []))

    def durable(self, ward: str, gateway: str, msg_id: int) -> None:
        self._entry(ward, gateway)[0].append(msg_id)

    def refuse(self, ward: str, gateway: str, msg_id: int, reason: str) -> None:
        self._entry(ward, gateway)[1].append(Refusal(msg_id=msg_id, reason=reason))

    def messages(self) -> list[Outgoing]:
        return [
            Outgoing(topic, AppAck(msg_ids=ids, refused=refused).model_dump_json())
            for topic, (ids, refused) in self._book.items()
        ]


def _recover_msg_id(payload: bytes) -> int | None:
    """The msg_id of an envelope that failed validation, if one can be read, so it can be refused."""
    try:
        raw = json.loads(payload)
    except ValueError:
        return None
    msg_id = raw.get("msg_id") if isinstance(raw, dict) else None
    return msg_id if isinstance(msg_id, int) and not isinstance(msg_id, bool) and msg_id >= 1 else None


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
        self._registry = registry
        self._stations = stations
        self._store = store
        self._clock = clock
        self.ledger = CaseLedger(deadlines or Deadlines.load(DATA_DIR / "deadlines.json"))
        self.intake = CaseIntake(locator, self.ledger, self.flood_near)
        self._sync = HistorySync(self.intake, self.ledger, registry)
        self._encoder = DownlinkEncoder(store.next_boot_epoch() if boot_epoch is None else boot_epoch)
        self._telemetry = telemetry
        self.levels = levels or LevelIngest(stations, told=store.report_intervals())

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

    @property
    def boot_epoch(self) -> int:
        """Central's boot epoch as used in its current downlink frames."""
        return self._encoder.boot_epoch

    def process_batch(self, batch: Sequence[tuple[str, bytes]]) -> BatchResult:
        """Apply a batch in one transaction; a bad uplink is counted and refused, the rest go on."""
        result = BatchResult()
        acks = _AckBook()
        now = self._clock()
        self.levels.checkpoint()
        try:
            with self._store.transaction() as tx:
                self.levels.begin_batch(tx.station_rule_state)
                for topic, payload in batch:
                    self._one(tx, topic, payload, now, acks, result)
                for station_id, version, state in self.levels.changed_states():  # shared with other replicas
                    tx.put_station_rule_state(station_id, version, state, iso(now))
                if result.rules_evaluated:
                    # Once per batch, not per reading: one counter update instead of hundreds.
                    tx.bump(RULES_EVALUATED, result.rules_evaluated)
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

    def _one(self, tx: StoreTx, topic: str, payload: bytes, now: datetime, acks: _AckBook, out: BatchResult) -> None:
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
            self._batch(tx, parsed, payload, now, acks, out)
            return
        if parsed.leaf == "case_events":
            self._case_events(tx, parsed, payload, now, acks, out)
            return
        try:
            uplink = self._parse(payload)
        except Rejected as exc:
            self._reject(tx, exc, topic, out)
            if exc.msg_id is not None:
                acks.refuse(parsed.ward, parsed.gateway, exc.msg_id, exc.reason)
            return
        self._accept(tx, parsed, uplink, now, acks, out, check_kind=True)

    def _status(self, tx: StoreTx, parsed: topics.Topic, payload: bytes, now: datetime, out: BatchResult) -> None:
        """A gateway's own status: stored for the dashboard, never acknowledged (it is state, not an uplink)."""
        try:
            tx.put_gateway_status(read_status(parsed, payload, now))
        except StatusRefused as exc:
            self._reject(tx, Rejected(exc.reason, None, exc.detail), f"{parsed.ward}/{parsed.gateway}/status", out)

    def _batch(
        self, tx: StoreTx, parsed: topics.Topic, payload: bytes, now: datetime, acks: _AckBook, out: BatchResult
    ) -> None:
        """A gateway draining its outbox sends many frames per message: each is one uplink."""
        try:
            batch = UplinkBatch.model_validate_json(payload)
        except ValidationError as exc:
            self._reject(tx, Rejected("invalid_envelope", None, f"batch: {exc.error_count()} errors"), parsed.leaf, out)
            return
        for item in batch.items:
            uplink = Uplink.model_construct(
                v=1, msg_id=item.msg_id, gateway=batch.gateway, ward=batch.ward,
                received_at=item.received_at, rssi=item.rssi, snr=item.snr, frame=item.frame,
            )
            self._accept(tx, parsed, uplink, now, acks, out, check_kind=False)

    def _case_events(
        self, tx: StoreTx, parsed: topics.Topic, payload: bytes, now: datetime, acks: _AckBook, out: BatchResult
    ) -> None:
        """A gateway's case history from its time alone: union it with central's, then ack it as a whole."""
        topic = f"{parsed.ward}/{parsed.gateway}/up/case_events"
        try:
            try:
                env = CaseEvents.model_validate_json(payload)
            except ValidationError as exc:
                raise Rejected("invalid_envelope", _recover_msg_id(payload), f"{exc.error_count()} errors") from exc
            if (env.ward, env.gateway) != (parsed.ward, parsed.gateway):
                raise Rejected("topic_mismatch", env.msg_id, f"envelope says {env.ward}/{env.gateway}")
            with tx.savepoint():
                try:
                    outcome = self._sync.merge(tx, env, now, Publisher(parsed.ward, parsed.gateway))
                except HistoryRefused as exc:
                    raise Rejected(exc.reason, env.msg_id, exc.detail) from exc
        except Rejected as exc:
            self._reject(tx, exc, topic, out)
            if exc.msg_id is not None:
                acks.refuse(parsed.ward, parsed.gateway, exc.msg_id, exc.reason)
            return
        except Exception:
            log.exception("case history on %s failed; left unacknowledged", topic)
            return
        tx.bump("case_events_merged", outcome.added)
        out.accepted += 1
        acks.durable(parsed.ward, parsed.gateway, env.msg_id)

    def _accept(
        self, tx: StoreTx, parsed: topics.Topic, uplink: Uplink, now: datetime, acks: _AckBook, out: BatchResult,
        check_kind: bool,
    ) -> None:
        topic = f"{parsed.ward}/{parsed.gateway}/up/{parsed.leaf}"
        try:
            heard = self._verify(parsed, uplink, check_kind)
            with tx.savepoint():
                self._apply(tx, heard, now, out)
        except Rejected as exc:
            self._reject(tx, exc, topic, out)
            if exc.msg_id is not None:
                acks.refuse(parsed.ward, parsed.gateway, exc.msg_id, exc.reason)
            return
        except Exception:
            # A bug, not a bad uplink: leave it unacknowledged so the gateway retries after the fix.
            log.exception("uplink on %s failed; left unacknowledged", topic)
            return
        out.accepted += 1
        acks.durable(parsed.ward, parsed.gateway, heard.uplink.msg_id)

    @staticmethod
    def _parse(payload: bytes) -> Uplink:
        try:
            return Uplink.model_validate_json(payload)
        except ValidationError as exc:
            raise Rejected("invalid_envelope", _recover_msg_id(payload), f"{exc.error_count()} errors") from exc

    def _verify(self, parsed: topics.Topic, uplink: Uplink, check_kind: bool) -> _Heard:
        if (uplink.ward, uplink.gateway) != (parsed.ward, parsed.gateway):
            raise Rejected("topic_mismatch", uplink.msg_id, f"envelope says {uplink.ward}/{uplink.gateway}")
        data = bytes.fromhex(uplink.frame)
        try:
            node_id = frames.peek_node_id(data)
            if data[1] >= frames.T_ACK:
                raise Rejected("unexpected_downlink", uplink.msg_id, f"type 0x{data[1]:02x}")
            record = self._registry.get(node_id)
            if record is None:
                raise Rejected("unknown_node", uplink.msg_id, topics.node_segment(node_id))
            frame = frames.decode(data, record.key)
        except frames.FrameError as exc:
            raise Rejected(exc.reason, uplink.msg_id, exc.detail) from exc
        if check_kind and frame.kind != parsed.leaf:
            raise Rejected("topic_mismatch", uplink.msg_id, f"{frame.kind} frame on up/{parsed.leaf}")
        return _Heard(uplink, record, frame)

    def _reject(self, tx: StoreTx, exc: Rejected, topic: str, out: BatchResult) -> None:
        log.warning("uplink rejected: %s (topic %s, msg_id %s)", exc, topic, exc.msg_id)
        tx.count_rejection(exc.reason)
        out.rejected += 1

    def _apply(self, tx: StoreTx, heard: _Heard, now: datetime, out: BatchResult) -> None:
        frame = heard.frame
        if frame.kind == "water_level_batch":
            # Each reading of a batch has its own (node, boot, seq): deduped and assessed as a single one.
            for reading in frames.split_batch(frame):
                self._apply(tx, replace(heard, frame=reading), now, out)
            return
        if not tx.claim_event(frame.node_id, frame.boot_epoch, frame.seq, frame.kind):
            tx.bump("duplicates")
            out.duplicates += 1
            self._send_ack(tx, heard, self.intake.replay(tx, frame), now, out)
            return
        if frame.kind == "water_level":
            self._level(tx, heard, now, out)
        elif frame.kind == "sos":
            sos = self.intake.register(tx, heard.uplink, heard.record, frame, now)
            self._send_ack(tx, heard, sos, now, out)
            if sos.new_case:
                self._notify(tx, heard.uplink, sos.case_number, now, out)
        elif frame.kind == "sos_cancel":
            plan = self.intake.cancel(tx, frame, now)
            if plan is None:
                raise Rejected("unknown_case", heard.uplink.msg_id, f"no SOS seq {frame.payload.fields()['sos_seq']}")
            self._send_ack(tx, heard, plan, now, out)
        elif frame.kind == "node_status":
            tx.upsert_node_status(self._health(heard))

    def _notify(self, tx: StoreTx, uplink: Uplink, case_number: int, now: datetime, out: BatchResult) -> None:
        """Text the case's ward duty officers through the gateway that heard the SOS; record who was told."""
        case = tx.case(case_number)
        if case is None:
            return
        text = case_text(case)
        for officer in officers_on_radio(tx.directory(case.ward_code)):
            node = officer.radio_node_id or 0
            out.texts.append(Outgoing(text_topic(uplink.ward, uplink.gateway), text_payload(node, text)))
            self.ledger.record(
                tx, case, "notified", now, "central:notify",
                {"to": officer.name, "node_id": topics.node_segment(node), "via": uplink.gateway},
                f"central:{case.case_ref}:notified:{topics.node_segment(node)}",
            )
            tx.bump("officer_texts")

    def _send_ack(self, tx: StoreTx, heard: _Heard, plan: AckPlan | None, now: datetime, out: BatchResult) -> None:
        if plan is None:
            return
        topic, payload = self._encoder.ack(tx, heard.uplink, heard.record.key, plan, now)
        out.downlinks.append(Outgoing(topic, payload))
        tx.bump("acks_sent")

    def _level(self, tx: StoreTx, heard: _Heard, now: datetime, out: BatchResult) -> None:
        frame, wl = heard.frame, heard.frame.payload
        if not isinstance(wl, frames.WaterLevel):
            raise TypeError(f"not a water-level frame: {frame!r}")
        outcome: LevelOutcome = self.levels.reading(
            frame.node_id, frame.boot_epoch, frame.seq, frame.node_ts, heard.uplink.received_at,
            heard.record.station_id, wl,
        )
        tx.insert_reading(outcome.reading)
        if outcome.reading.qc_reason is not None:
            tx.bump(QC_COUNTER_PREFIX + outcome.reading.qc_reason)
        if outcome.point is not None:
            out.points.append(outcome.point)
        out.rules_evaluated += outcome.rules_ran
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

    def _health(self, heard: _Heard) -> NodeHealth:
        frame, st = heard.frame, heard.frame.payload
        if not isinstance(st, frames.NodeStatus):
            raise TypeError(f"not a node-status frame: {frame!r}")
        up = heard.uplink
        return NodeHealth(
            frame.node_id, frame.boot_epoch, frame.seq, frame.node_ts, iso(up.received_at),
            st.battery_pct, st.uptime_s, st.unsent, up.gateway, up.ward,
        )
