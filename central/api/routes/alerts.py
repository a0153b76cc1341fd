"""GET /api/alerts and /api/alerts.cap: flood alert events, as JSON and as an OASIS CAP 1.2 feed."""

from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Response

from central.api.deps import ContextDep
from central.api.schemas import AlertOut
from central.telemetry.cap import cap_feed

router = APIRouter(prefix="/api")


@router.get("/alerts")
def list_alerts(
    ctx: ContextDep,
    station: str | None = None,
    limit: Annotated[int, Query(ge=1, le=5000)] = 200,
) -> list[AlertOut]:
    """Alert events newest first, optionally of one station."""
    if station is not None and station not in ctx.stations:
        raise HTTPException(status_code=404, detail=f"unknown station {station!r}")
    out = []
    for a in ctx.store.alerts(station, limit):
        st = ctx.stations.get(a.station_id)
        out.append(
            AlertOut.model_validate(
                {**a.__dict__, "station_name": st.name if st else a.station_id, "wards": list(a.wards)}
            )
        )
    return out


@router.get("/alerts.cap", response_class=Response)
def alerts_cap(ctx: ContextDep, limit: Annotated[int, Query(ge=1, le=5000)] = 200) -> Response:
    """The alerts as an Atom feed of CAP 1.2 messages."""
    names = {w.code: w.name for w in ctx.locator.wards}
    body = cap_feed(ctx.store.alerts(None, limit), ctx.stations, names)
    return Response(content=body, media_type="application/atom+xml; charset=utf-8")
