"""GET /api/cases: the case queue."""

from typing import Annotated, Literal

from fastapi import APIRouter, Query

from central.api.deps import StoreDep
from central.api.schemas import CaseOut
from central.store.records import Case
from protocol.frames import SOS_KINDS, VULNERABLE_FLAGS
from protocol.topics import node_segment

router = APIRouter(prefix="/api")


def case_out(case: Case) -> CaseOut:
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
    )


@router.get("/cases")
def list_cases(
    store: StoreDep,
    ward: Annotated[str | None, Query(max_length=64)] = None,
    state: Literal["registered", "cancelled"] | None = None,
    limit: Annotated[int, Query(ge=1, le=5000)] = 500,
) -> list[CaseOut]:
    """Cases newest first, optionally filtered by ward code and state."""
    return [case_out(c) for c in store.cases(ward=ward, state=state, limit=limit)]
