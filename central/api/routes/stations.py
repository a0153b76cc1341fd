"""GET /api/stations and /api/stations/{id}/levels|history: river levels, alert state and trend."""

from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query

from central.api.deps import ContextDep, Moment, StationsDep, StoreDep
from central.api.schemas import LevelBucketOut, LevelOut, StationOut
from central.store.records import Reading, iso
from central.telemetry.rules import StationState, eta_next_s, trend_m_per_h
from protocol.topics import node_segment

router = APIRouter(prefix="/api/stations")


@router.get("")
def list_stations(ctx: ContextDep) -> list[StationOut]:
    """Every station with its latest level, the alert in force and the trend."""
    out = []
    states = ctx.flood_states()
    for st in ctx.stations.values():
        latest = ctx.store.readings(st.id, 1)
        level = latest[0].level_m if latest else None
        state = states.get(st.id, StationState())
        trend = trend_m_per_h(state.window, ctx.rule_config)
        nxt, eta = eta_next_s(st, state.rank, state.level_m, trend) if state.level_m is not None else (None, None)
        out.append(
            StationOut(
                id=st.id,
                name=st.name,
                river=st.river,
                ward=st.ward,
                lat=st.lat,
                lon=st.lon,
                alert_levels_m=dict(st.alert_levels_m),
                level_m=level,
                level_at=latest[0].received_at if latest else None,
                alert=st.alert(level),
                affected_wards=list(st.wards_to_warn),
                qc_flag=latest[0].qc_flag if latest else None,
                alert_state=state.alert,
                rising_fast=state.rising_fast,
                trend_m_per_h=None if trend is None else round(trend, 3),
                next_level=nxt,
                eta_next_s=None if eta is None else round(eta),
            )
        )
    return out


def _level_out(r: Reading) -> LevelOut:
    return LevelOut(
        received_at=r.received_at,
        level_m=r.level_m,
        distance_mm=r.distance_mm,
        battery_pct=r.battery_pct,
        flags=r.flags,
        node_id=node_segment(r.node_id),
        qc_flag=r.qc_flag,
        qc_reason=r.qc_reason,
        level_at=r.level_at,
    )


def _window(since: datetime | None, until: datetime | None, hours: float) -> tuple[str, str]:
    end = until or datetime.now(UTC)
    start = since or end - timedelta(hours=hours)
    if start.tzinfo is None or end.tzinfo is None:
        raise HTTPException(status_code=422, detail="since/until must carry a time zone")
    if start >= end:
        raise HTTPException(status_code=422, detail="since must be before until")
    return iso(start), iso(end)


@router.get("/{station_id}/levels")
def station_levels(
    station_id: str,
    store: StoreDep,
    stations: StationsDep,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 100,
    since: Moment | None = None,
    until: Moment | None = None,
) -> list[LevelOut]:
    """Raw readings: the most recent first, or with ``since``/``until`` that window, oldest first."""
    if station_id not in stations:
        raise HTTPException(status_code=404, detail=f"unknown station {station_id!r}")
    if since is None and until is None:
        return [_level_out(r) for r in store.readings(station_id, limit)]
    start, end = _window(since, until, 24)
    return [_level_out(r) for r in store.readings_between(station_id, start, end, limit)]


@router.get("/{station_id}/history")
def station_history(
    station_id: str,
    store: StoreDep,
    stations: StationsDep,
    since: Moment | None = None,
    until: Moment | None = None,
    bucket_s: Annotated[int, Query(ge=60, le=86_400)] = 3600,
) -> list[LevelBucketOut]:
    """Quality-passed levels downsampled to ``bucket_s`` buckets (default: the last 7 days, hourly)."""
    if station_id not in stations:
        raise HTTPException(status_code=404, detail=f"unknown station {station_id!r}")
    start, end = _window(since, until, 24 * 7)
    return [
        LevelBucketOut(start=b, mean_m=round(mean, 3), min_m=lo, max_m=hi, n=n)
        for b, mean, lo, hi, n in store.levels_downsampled(station_id, start, end, bucket_s)
    ]
