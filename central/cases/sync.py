"""A gateway's case history (``up/case_events``) merged into central's by the union of event ids."""

import re
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

from central.cases.intake import CaseIntake
from central.cases.ledger import CaseLedger
from central.cases.provenance import Publisher, judge_history
from central.store.records import Case, NewCase, iso
from central.store.transaction import StoreTx
from protocol.envelopes import CaseEvent, CaseEvents
from protocol.frames import SOS_KINDS
from protocol.registry import NodeRegistry

_REF = re.compile(r"^sos:([0-9a-f]{8}):([0-9]+):([0-9]+)$")


class HistoryRefused(ValueError):
    """A gateway history central can never merge; ``reason`` goes back in the app ack."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True)
class MergeOutcome:
    """What one CaseEvents envelope did: new events stored, cases opened from a gateway's ``created``."""

    added: int
    opened: list[Case]


def parse_ref(case_ref: str) -> tuple[int, int, int]:
    """(node id, boot epoch, seq) of the SOS frame a case ref names."""
    m = _REF.match(case_ref)
    if m is None:
        raise HistoryRefused("bad_case_ref", case_ref)
    return int(m[1], 16), int(m[2]), int(m[3])


def _int(data: dict[str, object], key: str, lo: int, hi: int) -> int:
    value = data.get(key)
    if not isinstance(value, int) or isinstance(value, bool) or not lo <= value <= hi:
        raise HistoryRefused("invalid_case_event", f"created.{key} must be an integer in [{lo}, {hi}]")
    return value


def _coord(data: dict[str, object], key: str, limit: float) -> float | None:
    value = data.get(key)
    if value is None:
        return None
    if not isinstance(value, int | float) or isinstance(value, bool) or not -limit <= value <= limit:
        raise HistoryRefused("invalid_case_event", f"created.{key} must be a number in [-{limit}, {limit}] or null")
    return float(value)


class HistorySync:
    """Resolves each event's case (via the SOS frame it names), checks the publisher may assert it,
    and unions the histories."""

    def __init__(self, intake: CaseIntake, ledger: CaseLedger, registry: NodeRegistry) -> None:
        self._intake = intake
        self._ledger = ledger
        self._registry = registry

    def merge(self, tx: StoreTx, env: CaseEvents, now: datetime, publisher: Publisher) -> MergeOutcome:
        """Merge every event; all or nothing (the caller's savepoint undoes a refused envelope).

        ``publisher`` is the topic's authenticated (ward, gateway); the whole history is judged against
        it (central.cases.provenance) before anything is written."""
        by_ref: dict[str, list[CaseEvent]] = defaultdict(list)
        for event in env.events:
            by_ref[event.case_ref].append(event)
        known = {ref: self._resolve(tx, ref) for ref in by_ref}
        nodes = {ref: parse_ref(ref)[0] for ref in by_ref}
        foreign = judge_history(publisher, by_ref, known, nodes, self._registry)
        if foreign is not None:
            raise HistoryRefused(foreign.reason, foreign.detail)
        added, opened = 0, []
        for ref, events in by_ref.items():
            case = known[ref]
            if case is None:
                case = self._open(tx, env, ref, events)
                opened.append(case)
            for event in events:
                owner = tx.event_owner(event.event_id)
                if owner is not None and owner != case.case_number:
                    raise HistoryRefused("event_id_reused", f"{event.event_id} belongs to another case")
            added += len(self._ledger.merge(tx, case, events, now))
        return MergeOutcome(added, opened)

    @staticmethod
    def _resolve(tx: StoreTx, ref: str) -> Case | None:
        node_id, boot, seq = parse_ref(ref)
        return tx.event_case(node_id, boot, seq) or tx.case_by_ref(ref)

    def _open(self, tx: StoreTx, env: CaseEvents, ref: str, events: list[CaseEvent]) -> Case:
        created = next((e for e in events if e.kind == "created"), None)
        if created is None:
            raise HistoryRefused("unknown_case", f"{ref}: no 'created' event and central never saw that SOS")
        data: dict[str, object] = dict(created.data)
        kind = _int(data, "kind", 0, len(SOS_KINDS) - 1)
        people = _int(data, "people", 0, 255)
        vulnerable = _int(data, "vulnerable", 0, 0xFF)
        lat, lon = _coord(data, "lat", 90.0), _coord(data, "lon", 180.0)
        locator = self._intake.locator
        if lat is not None and lon is not None:
            ward, located_by = locator.locate(lon, lat), "gps"
        else:
            ward, located_by, lat, lon = locator.match_code(env.ward), "gateway", None, None
        node_id, boot, seq = parse_ref(ref)
        new = NewCase(
            node_id=node_id, boot_epoch=boot, seq=seq, ward_code=ward.code, ward_name=ward.name,
            authority=locator.authority_name(ward.code), kind=kind, people=people, vulnerable=vulnerable,
            lat=lat, lon=lon, located_by=located_by, created_at=iso(created.at), heard_at=iso(created.at),
            gateway=env.gateway, case_ref=ref, priority=self._intake.triage(kind, people, vulnerable, ward.code),
        )
        return self._intake.open(tx, new, created.at, actor=created.actor, record_created=False)
