"""The FastAPI app factory: routes wired to the objects central already runs."""

from collections.abc import Callable, Mapping

from fastapi import FastAPI

from central.api.deps import ApiContext
from central.api.routes import alerts, cases, dashboard, health, stations, stats, wards
from central.geo.ward_locator import WardLocator
from central.store.sqlite import CentralStore
from central.telemetry.rules import StationState
from central.telemetry.stations import Station


def create_app(
    store: CentralStore,
    locator: WardLocator,
    stations_by_id: Mapping[str, Station],
    ingest_status_fn: Callable[[], bool],
    flood_states_fn: Callable[[], Mapping[str, StationState]] | None = None,
) -> FastAPI:
    """Build the API; ``ingest_status_fn`` says whether the MQTT ingest is connected, ``flood_states_fn``
    gives the flood rules' state per station (alert in force, trend)."""
    app = FastAPI(title="floodmesh central", version="0.1.0")
    app.state.ctx = ApiContext(store, locator, stations_by_id, ingest_status_fn, flood_states_fn or dict)
    for module in (health, cases, stations, stats, wards, dashboard, alerts):
        app.include_router(module.router)
    return app
