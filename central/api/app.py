"""The FastAPI app factory: routes wired to the objects central already runs."""

from collections.abc import Callable, Mapping

from fastapi import FastAPI

from central.api.deps import ApiContext
from central.api.routes import cases, dashboard, health, stations, stats, wards
from central.geo.ward_locator import WardLocator
from central.store.sqlite import CentralStore
from central.telemetry.stations import Station


def create_app(
    store: CentralStore,
    locator: WardLocator,
    stations_by_id: Mapping[str, Station],
    ingest_status_fn: Callable[[], bool],
) -> FastAPI:
    """Build the API; ``ingest_status_fn`` says whether the MQTT ingest is connected."""
    app = FastAPI(title="floodmesh central", version="0.1.0")
    app.state.ctx = ApiContext(store, locator, stations_by_id, ingest_status_fn)
    for module in (health, cases, stations, stats, wards, dashboard):
        app.include_router(module.router)
    return app
