"""The case queue: GET /api/cases (filters), GET /api/cases/{n} (history), POST /api/cases/{n}/events."""

import json
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query

from central.api.auth import Principal, PrincipalDep, require_staff, require_writer
from central.api.deps import CaseNumber, ContextDep, WardQuery
from central.api.schemas import CaseDetailOut, CaseEventIn, CaseEventOut, CaseOut, CaseStateName
from central.cases.history import IllegalTransition, fold
from central.cases.ledger import central_event_id, to_event
from central.store.records import Case, iso
from protocol.envelopes import CaseEvent
from protocol.frames import SOS_KINDS, VULNERABLE_FLAGS
from protocol.topics import node_segment

router = APIRouter(prefix="/api")


def case_out(case: Case, now: datetime | None = None) -> CaseOut:
    """A stored case in the API's words (names instead of codes)."""
    return CaseOut(
        case_number=case.case_number,
        node_id=node_segment(case.node_id),
        ward_code=case.ward_code,
        ward_name=case.ward_name,
        authority=case.authority,
        kind=SOS_KINDS[case.kind],
        people=case.people,
        vulnerable=[name for name, bit in VULNERABLE_FLAGS if case.vulnerable & bit],
        lat=case.lat,
        lon=case.lon,
        located_by=case.located_by,  # type: ignore[arg-type]  # CHECK constraint in the schema
        state=case.state,  # type: ignore[arg-type]
        created_at=case.created_at,
        presses=case.presses,
        case_ref=case.case_ref,
        priority=case.priority,
        escalation_level=case.escalation_level,
        escalated_to=case.escalated_to,
        due_at=case.due_at,
        overdue=now is not None and case.due_at is not None and case.due_at <= iso(now),
        rating=case.rating,
    )


def visible_case(ctx: ContextDep, who: Principal, case_number: int) -> Case:
    """A case the caller may see; another ward's case answers 404, as if it did not exist."""
    require_staff(who)
    case = ctx.store.case(case_number)
    if case is None or not who.sees(case.ward_code):
        raise HTTPException(status_code=404, detail=f"no case {case_number}")
    return case


@router.get("/cases")
def list_cases(
    ctx: ContextDep,
    who: PrincipalDep,
    ward: WardQuery = None,
    state: CaseStateName | None = None,
    priority: Annotated[int | None, Query(ge=1, le=4)] = None,
    overdue: bool | None = None,
    limit: Annotated[int, Query(ge=1, le=5000)] = 500,
) -> list[CaseOut]:
    """Cases newest first, filtered by ward code, state, priority and whether past their deadline."""
    require_staff(who)
    if who.role != "operator":
        if ward is not None and ward != who.ward:
            return []
        ward = who.ward
    now = ctx.clock()
    cases = ctx.store.cases(ward=ward, state=state, limit=limit, priority=priority,
                            overdue_at=iso(now) if overdue else None)
    out = [case_out(c, now) for c in cases]
    return [c for c in out if not c.overdue] if overdue is False else out


@router.get("/cases/{case_number}")
def case_detail(case_number: CaseNumber, ctx: ContextDep, who: PrincipalDep) -> CaseDetailOut:
    """One case with every event of its history, in the order the fold applies them."""
    case = visible_case(ctx, who, case_number)
    stored = ctx.store.case_events(case_number)
    state = fold(case.case_ref or "", [to_event(e) for e in stored])
    ignored = dict(state.ignored)
    order = {event_id: i for i, event_id in enumerate([*state.applied, *ignored])}
    events = [
        CaseEventOut(event_id=e.event_id, case_ref=e.case_ref, kind=e.kind, at=e.at, actor=e.actor,
                     data=json.loads(e.data), stored_at=e.stored_at, ignored=ignored.get(e.event_id))
        for e in sorted(stored, key=lambda e: order.get(e.event_id, len(order)))
    ]
    return CaseDetailOut(**case_out(case, ctx.clock()).model_dump(), events=events)


@router.post("/cases/{case_number}/events", status_code=201, responses={409: {"description": "illegal transition"}})
def add_event(case_number: CaseNumber, body: CaseEventIn, ctx: ContextDep, who: PrincipalDep) -> CaseDetailOut:
    """Move a case on (acknowledge, dispatch, resolve, rate, cancel, escalate, note a notification); 409 if illegal."""
    case = visible_case(ctx, who, case_number)
    require_writer(who, case.ward_code)
    data = dict(body.data)
    if body.note:
        data["note"] = body.note
    now = ctx.clock()
    event = CaseEvent(event_id=central_event_id(), case_ref=case.case_ref or "", kind=body.kind, at=now,
                      actor=f"{who.role}:{who.name}", data=data)
    with ctx.store.transaction() as tx:
        fresh = tx.case(case_number)
        if fresh is None:
            raise HTTPException(status_code=404, detail=f"no case {case_number}")
        try:
            ctx.ledger.append(tx, fresh, event, now)
        except IllegalTransition as exc:
            raise HTTPException(status_code=409, detail=exc.reason) from exc
    return case_detail(case_number, ctx, who)
