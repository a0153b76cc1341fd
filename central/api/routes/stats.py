"""GET /api/stats: totals for the dashboard and for tests."""

import dataclasses

from fastapi import APIRouter

from central.api.deps import StoreDep
from central.api.schemas import StatsOut

router = APIRouter(prefix="/api")


@router.get("/stats")
def stats(store: StoreDep) -> StatsOut:
    """Readings, cases, ACKs, duplicates and rejections (by reason) so far."""
    return StatsOut(**dataclasses.asdict(store.stats()))
