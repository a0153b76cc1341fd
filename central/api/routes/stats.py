"""GET /api/stats: totals for the dashboard and for tests (counts only, so the public may read them)."""

import dataclasses

from fastapi import APIRouter

from central.api.deps import ContextDep
from central.api.schemas import StatsOut

router = APIRouter(prefix="/api")


@router.get("/stats")
def stats(ctx: ContextDep) -> StatsOut:
    """Readings, cases, ACKs, duplicates and rejections (by reason) so far, and the API's refused requests."""
    refused = ctx.refusals.by_reason()
    return StatsOut(**dataclasses.asdict(ctx.store.stats()), api_refused=sum(refused.values()),
                    api_refused_by_reason=dict(refused))
