"""GET /api/accountability: per authority, how the cases of a period were answered (public aggregates)."""

from datetime import timedelta

from fastapi import APIRouter, HTTPException

from central.api.deps import ContextDep, Moment, WardQuery
from central.api.schemas import AccountabilityOut
from central.cases.accountability import account
from central.store.records import iso

router = APIRouter(prefix="/api")


@router.get("/accountability")
def accountability(
    ctx: ContextDep, since: Moment | None = None, until: Moment | None = None, ward: WardQuery = None
) -> list[AccountabilityOut]:
    """Received, acknowledged in time, resolved, overdue, mean times and satisfaction per authority
    for cases received in [since, until) (default: the last 30 days). Counts and means only: no cases."""
    now = ctx.clock()
    end = until or now
    start = since or end - timedelta(days=30)
    if start.tzinfo is None or end.tzinfo is None:
        raise HTTPException(status_code=422, detail="since/until must carry a time zone")
    cases = ctx.store.cases(ward=ward, since=iso(start), until=iso(end), limit=1_000_000)
    return [AccountabilityOut(**r.__dict__) for r in account(cases, ctx.ledger.deadlines, now)]
