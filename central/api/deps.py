"""What route handlers get injected: the store, the locator, the stations, the ingest's state."""

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Annotated

from fastapi import Depends, Request

from central.cases.deadlines import Deadlines
from central.cases.intake import CaseIntake
from central.cases.ledger import CaseLedger
from central.core.config import DATA_DIR
from central.core.security import VerifiedSecrets
from central.geo.ward_locator import WardLocator
from central.store.sqlite import CentralStore
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
    trust_loopback: bool = True
    secrets: VerifiedSecrets = field(default_factory=VerifiedSecrets)


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


ContextDep = Annotated[ApiContext, Depends(get_context)]
StoreDep = Annotated[CentralStore, Depends(get_store)]
StationsDep = Annotated[Mapping[str, Station], Depends(get_stations)]
LocatorDep = Annotated[WardLocator, Depends(get_locator)]
