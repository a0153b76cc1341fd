"""The FastAPI app factory: routes wired to the objects central already runs."""

from collections.abc import Callable, Mapping
from datetime import datetime

from fastapi import FastAPI

from central.api.body_limit import DEFAULT_BODY_MAX_BYTES, BodySizeLimit
from central.api.deps import ApiContext, Publish, no_publish, wall_clock
from central.api.live_feed import LiveFeed
from central.api.login_limiter import LoginLimiter
from central.api.refusals import RefusalCounter, Refused, refused_handler
from central.api.routes import (
    accountability,
    alerts,
    cases,
    dashboard,
    directory,
    events,
    health,
    open311,
    radio_enrolment,
    session,
    stations,
    stats,
    wards,
)
from central.api.stream_tickets import StreamTickets
from central.geo.ward_locator import WardLocator
from central.ingest.processor import UplinkProcessor
from central.store.base import CentralStore
from central.telemetry.rules import StationState
from central.telemetry.stations import Station


def create_app(
    store: CentralStore,
    locator: WardLocator,
    stations_by_id: Mapping[str, Station],
    ingest_status_fn: Callable[[], bool],
    flood_states_fn: Callable[[], Mapping[str, StationState]] | None = None,
    *,
    processor: UplinkProcessor | None = None,
    publish: Publish = no_publish,
    clock: Callable[[], datetime] = wall_clock,
    body_max_bytes: int = DEFAULT_BODY_MAX_BYTES,
    logins: LoginLimiter | None = None,
) -> FastAPI:
    """Build the API; ``ingest_status_fn`` says whether the MQTT ingest is connected, ``flood_states_fn``
    gives the flood rules' state per station (alert in force, trend); ``processor`` shares its case ledger
    and intake; ``publish`` sends MQTT messages (directory changes); request bodies over ``body_max_bytes``
    are refused (413); ``logins`` limits failed logins (default: api/login_limiter.py's limits)."""
    app = FastAPI(title="floodmesh central", version="0.1.0")
    extra = {} if processor is None else {"ledger": processor.ledger, "intake": processor.intake}
    refusals = RefusalCounter()
    app.state.ctx = ApiContext(
        store, locator, stations_by_id, ingest_status_fn, flood_states_fn or dict,
        publish=publish, clock=clock, refusals=refusals, logins=logins or LoginLimiter(),
        **extra,  # type: ignore[arg-type]
    )
    # Live updates (api/routes/events.py): the store tells the feed what each commit changed.
    app.state.live_feed = LiveFeed()
    app.state.stream_tickets = StreamTickets()
    store.on_commit.append(app.state.live_feed.committed)
    app.add_exception_handler(Refused, refused_handler)
    app.add_middleware(BodySizeLimit, max_bytes=body_max_bytes, refused=refusals.count)
    for module in (health, session, cases, stations, stats, wards, dashboard, alerts, accountability, directory,
                   open311, radio_enrolment, events):
        app.include_router(module.router)
    return app
