"""What route handlers get injected: the store, the locator, the stations, the ingest's state, the API's guards."""

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Annotated

from fastapi import Depends, Path, Query, Request
from pydantic import AfterValidator

from central.api.login_limiter import LoginLimiter
from central.api.refusals import RefusalCounter
from central.api.sessions import SessionTokens
from central.cases.deadlines import Deadlines
from central.cases.intake import CaseIntake
from central.cases.ledger import CaseLedger
from central.core.config import DATA_DIR
from central.core.security import VerifiedSecrets
from central.geo.ward_locator import WardLocator
from central.store.base import CentralStore
from central.telemetry.rules import RuleConfig, StationState
from central.telemetry.stations import Station

Publish = Callable[[Sequence[tuple[str, str, bool]]], None]
"""Publishes (topic, payload, retain) messages at QoS 1 through central's MQTT client."""


def no_publish(_messages: Sequence[tuple[str, str, bool]]) -> None:
    """A publisher for an API without MQTT (tests): drops the messages."""


def wall_clock() -> datetime:
    """The wall clock, timezone-aware."""
    return datetime.now(UTC)


@dataclass(frozen=True)
class ApiContext:
    """The long-lived objects the API reads from, set once by create_app."""

    store: CentralStore
    locator: WardLocator
    stations: Mapping[str, Station]
    mqtt_connected: Callable[[], bool]
    flood_states: Callable[[], Mapping[str, StationState]] = field(default=dict)
    rule_config: RuleConfig = field(default_factory=RuleConfig)
    ledger: CaseLedger = field(default_factory=lambda: CaseLedger(Deadlines.load(DATA_DIR / "deadlines.json")))
    intake: CaseIntake | None = None
    publish: Publish = no_publish
    clock: Callable[[], datetime] = wall_clock
    secrets: VerifiedSecrets = field(default_factory=VerifiedSecrets)
    refusals: RefusalCounter = field(default_factory=RefusalCounter)
    logins: LoginLimiter = field(default_factory=LoginLimiter)
    sessions: SessionTokens = field(default_factory=SessionTokens)


def get_context(request: Request) -> ApiContext:
    """The ApiContext of the running app."""
    ctx: ApiContext = request.app.state.ctx
    return ctx


def get_store(ctx: Annotated[ApiContext, Depends(get_context)]) -> CentralStore:
    """The central store."""
    return ctx.store


def get_stations(ctx: Annotated[ApiContext, Depends(get_context)]) -> Mapping[str, Station]:
    """Stations by id."""
    return ctx.stations


def get_locator(ctx: Annotated[ApiContext, Depends(get_context)]) -> WardLocator:
    """The ward locator (ward polygons and authorities)."""
    return ctx.locator


MAX_ROW_ID = 2**63 - 1
"""The largest id either store can hold (SQLite INTEGER, PostgreSQL BIGINT): past it an id is refused (422)."""
CaseNumber = Annotated[int, Path(ge=1, le=MAX_ROW_ID, description="a case number")]
WARD_CODE_PATTERN = r"^[^\x00-\x1f\x7f/+#]{1,64}$"
"""A ward code is one MQTT topic segment: printable, no '/', '+' or '#' (and no NUL, which PostgreSQL refuses)."""
WardPath = Annotated[str, Path(pattern=WARD_CODE_PATTERN, description="a ward code, e.g. 19774")]
WardQuery = Annotated[str | None, Query(pattern=WARD_CODE_PATTERN, description="a ward code, e.g. 19774")]


def _plausible(moment: datetime) -> datetime:
    # Far-off years overflow date arithmetic and time-zone conversion (a 500); none is a flood's date.
    if not 1970 <= moment.year < 3000:
        raise ValueError("must be between the years 1970 and 3000")
    return moment


Moment = Annotated[datetime, AfterValidator(_plausible)]
"""A datetime query parameter (ISO 8601), refused with 422 outside the years 1970-3000."""

ContextDep = Annotated[ApiContext, Depends(get_context)]
StoreDep = Annotated[CentralStore, Depends(get_store)]
StationsDep = Annotated[Mapping[str, Station], Depends(get_stations)]
LocatorDep = Annotated[WardLocator, Depends(get_locator)]
