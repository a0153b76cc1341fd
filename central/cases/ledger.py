"""CaseLedger: case events in the store (the source of truth) and the `cases` row they project to."""

import json
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from central.cases.deadlines import Deadlines, escalation
from central.cases.history import CaseState, apply, fold
from central.store.records import Case, Projection, StoredEvent, iso
from central.store.transaction import StoreTx
from protocol.envelopes import CaseEvent, CaseEventKind, WardDirectory
from protocol.frames import SOS_KINDS


def central_event_id() -> str:
    """A fresh id for an event central makes on request (API transitions)."""
    return f"central:{uuid.uuid4().hex}"


def to_event(stored: StoredEvent) -> CaseEvent:
    """The protocol event behind a stored row."""
    return CaseEvent(
        event_id=stored.event_id, case_ref=stored.case_ref, kind=stored.kind,  # type: ignore[arg-type]
        at=datetime.fromisoformat(stored.at), actor=stored.actor, data=json.loads(stored.data),
    )


def kind_name(case: Case) -> str:
    """The SOS kind of a case by name."""
    return SOS_KINDS[case.kind] if 0 <= case.kind < len(SOS_KINDS) else "help"


def escalation_chain(tx: StoreTx, ward: str) -> tuple[str, ...]:
    """The levels above a ward (e.g. district, then the IOC), from its directory."""
    raw = tx.directory(ward)
    return () if raw is None else tuple(WardDirectory.model_validate_json(raw).escalation)


@dataclass(frozen=True)
class Escalation:
    """An overdue case that was escalated, and to whom."""

    case_number: int
    ward: str
    level: int
    to: str
    reason: str


class CaseLedger:
    """Appends and merges case events, refolds the case and writes its projection."""

    def __init__(self, deadlines: Deadlines) -> None:
        self.deadlines = deadlines

    def history(self, tx: StoreTx, case_number: int) -> list[CaseEvent]:
        """Every event of a case, as stored."""
        return [to_event(e) for e in tx.events(case_number)]

    def state(self, tx: StoreTx, case: Case) -> CaseState:
        """The fold of a case's events."""
        return fold(case.case_ref or "", self.history(tx, case.case_number))

    def append(self, tx: StoreTx, case: Case, event: CaseEvent, now: datetime) -> CaseState:
        """Add one new event if it is legal now (raises IllegalTransition otherwise); returns the new state."""
        current = self.state(tx, case)
        after = apply(current, event)  # raises before anything is written
        if tx.add_event(_stored(case.case_number, event, now)):
            self._project(tx, case, after)
        return after

    def merge(self, tx: StoreTx, case: Case, events: Iterable[CaseEvent], now: datetime) -> list[str]:
        """Union another history into the case (illegal ones are kept, and ignored by the fold); new ids back."""
        added = [e.event_id for e in events if tx.add_event(_stored(case.case_number, e, now))]
        if added:
            self._project(tx, case, self.state(tx, case))
        return added

    def record(self, tx: StoreTx, case: Case, kind: CaseEventKind, at: datetime, actor: str,
               data: dict[str, str | int | float | bool | None], event_id: str) -> bool:
        """An event central itself witnessed (an SOS press, a cancel, a notification); idempotent by id."""
        event = CaseEvent(event_id=event_id, case_ref=case.case_ref or "", kind=kind, at=at, actor=actor, data=data)
        return bool(self.merge(tx, case, [event], at))

    def _project(self, tx: StoreTx, case: Case, state: CaseState) -> None:
        due = self.deadlines.due(state, kind_name(case))
        chain = escalation_chain(tx, case.ward_code)
        level = state.escalation_level
        tx.project(
            case.case_number,
            Projection(
                state=state.state,
                presses=state.presses,
                priority=case.priority,
                escalation_level=level,
                escalated_to=(chain[level - 1] if level <= len(chain) else chain[-1]) if level and chain else None,
                due_at=None if due is None else iso(due),
                acknowledged_at=_iso(state.acknowledged_at),
                resolved_at=_iso(state.resolved_at),
                closed_at=_iso(state.closed_at),
                rating=state.rating,
            ),
        )

    def escalate_overdue(self, tx: StoreTx, now: datetime) -> list[Escalation]:
        """Escalate every open case past its deadline one level up its ward's chain."""
        done = []
        for case in tx.open_cases():
            if case.due_at is None or case.due_at > iso(now):
                continue
            state = self.state(tx, case)
            chain = escalation_chain(tx, case.ward_code)
            over = escalation(state, kind_name(case), self.deadlines, chain, now)
            if over is None:
                continue
            event_id = f"central:{case.case_ref}:escalated:{over.level}"
            data: dict[str, str | int | float | bool | None] = {"level": over.level, "to": over.to,
                                                                "reason": over.reason}
            if self.record(tx, case, "escalated", now, "central:deadlines", data, event_id):
                done.append(Escalation(case.case_number, case.ward_code, over.level, over.to, over.reason))
        return done


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else iso(moment)


def _stored(case_number: int, event: CaseEvent, now: datetime) -> StoredEvent:
    return StoredEvent(
        case_number, event.event_id, event.case_ref, event.kind, iso(event.at), event.actor,
        json.dumps(event.data, sort_keys=True), iso(now),
    )
