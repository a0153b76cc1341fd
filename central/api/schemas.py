"""Response shapes of the REST API (they also make the OpenAPI document)."""

from typing import Literal

from pydantic import BaseModel

from central.telemetry.stations import AlertName


class Health(BaseModel):
    """Liveness, and whether the ingest is connected to the broker."""

    status: Literal["ok"] = "ok"
    mqtt_connected: bool


class CaseOut(BaseModel):
    """One case as the IOC sees it."""

    case_number: int
    node_id: str
    ward_code: str
    ward_name: str
    authority: str
    kind: str
    people: int
    vulnerable: list[str]
    lat: float | None
    lon: float | None
    located_by: Literal["gps", "registry", "gateway"]
    state: Literal["registered", "cancelled"]
    created_at: str
    presses: int


class StationOut(BaseModel):
    """A station with its latest level and the alert level reached."""

    id: str
    name: str
    river: str
    ward: str
    lat: float
    lon: float
    alert_levels_m: dict[str, float]
    level_m: float | None
    level_at: str | None
    alert: AlertName


class LevelOut(BaseModel):
    """One stored reading of a station."""

    received_at: str
    level_m: float | None
    distance_mm: int
    battery_pct: int
    flags: int
    node_id: str


class StatsOut(BaseModel):
    """Totals since the database was created."""

    readings_stored: int
    sos_cases: int
    open_cases: int
    acks_sent: int
    duplicates: int
    rejected: int
    rejected_by_reason: dict[str, int]
