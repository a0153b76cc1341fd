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
    alert: AlertName  # the level the latest reading reached
    affected_wards: list[str] = []
    qc_flag: int | None = None  # QARTOD flag of the latest reading
    alert_state: AlertName = "none"  # the alert in force (flood rules: confirmed, with hysteresis)
    rising_fast: bool = False
    trend_m_per_h: float | None = None
    next_level: AlertName | None = None
    eta_next_s: float | None = None


class LevelOut(BaseModel):
    """One stored reading of a station."""

    received_at: str
    level_m: float | None
    distance_mm: int
    battery_pct: int
    flags: int
    node_id: str
    qc_flag: int = 2
    qc_reason: str | None = None
    level_at: str | None = None


class StatsOut(BaseModel):
    """Totals since the database was created."""

    readings_stored: int
    sos_cases: int
    open_cases: int
    acks_sent: int
    duplicates: int
    rejected: int
    rejected_by_reason: dict[str, int]
    flagged_by_reason: dict[str, int] = {}
    alerts: int = 0


class LevelBucketOut(BaseModel):
    """Quality-passed levels of one time bucket (downsampled history)."""

    start: str
    mean_m: float
    min_m: float
    max_m: float
    n: int


class AlertOut(BaseModel):
    """One flood alert event."""

    id: int
    station_id: str
    station_name: str
    kind: Literal["level_raised", "level_cleared", "rising_fast", "rising_eased"]
    level: AlertName
    level_m: float
    rate_m_per_h: float | None
    eta_next_s: float | None
    next_level: AlertName | None
    at: str
    wards: list[str]
    text: str
