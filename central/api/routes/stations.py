"""GET /api/stations and /api/stations/{id}/levels: river levels and alert state."""

from typing import Annotated

from fastapi import APIRouter, HTTPException, Query

from central.api.deps import StationsDep, StoreDep
from central.api.schemas import LevelOut, StationOut
from protocol.topics import node_segment

router = APIRouter(prefix="/api/stations")


@router.get("")
def list_stations(store: StoreDep, stations: StationsDep) -> list[StationOut]:
    """Every station with its latest level and the alert level it reached."""
    out = []
    for st in stations.values():
        latest = store.readings(st.id, 1)
        level = latest[0].level_m if latest else None
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
            )
        )
    return out


@router.get("/{station_id}/levels")
def station_levels(
    station_id: str,
    store: StoreDep,
    stations: StationsDep,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 100,
) -> list[LevelOut]:
    """A station's recent readings, newest first."""
    if station_id not in stations:
        raise HTTPException(status_code=404, detail=f"unknown station {station_id!r}")
    return [
        LevelOut(
            received_at=r.received_at,
            level_m=r.level_m,
            distance_mm=r.distance_mm,
            battery_pct=r.battery_pct,
            flags=r.flags,
            node_id=node_segment(r.node_id),
        )
        for r in store.readings(station_id, limit)
    ]
