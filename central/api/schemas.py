"""Response shapes of the REST API (they also make the OpenAPI document)."""

from typing import Literal

from pydantic import BaseModel, Field

from central.telemetry.stations import AlertName

CaseStateName = Literal["registered", "acknowledged", "dispatched", "resolved", "cancelled"]


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
    state: CaseStateName
    created_at: str
    presses: int
    case_ref: str | None = None
    priority: int = 3  # 1 = most urgent
    escalation_level: int = 0
    escalated_to: str | None = None
    due_at: str | None = None
    overdue: bool = False
    rating: int | None = None


class CaseEventOut(BaseModel):
    """One event of a case's history; ``ignored`` gives the reason when the fold could not apply it."""

    event_id: str
    case_ref: str
    kind: str
    at: str
    actor: str
    data: dict[str, str | int | float | bool | None]
    stored_at: str
    ignored: str | None = None


class CaseDetailOut(CaseOut):
    """A case with its full event history."""

    events: list[CaseEventOut]


class CaseEventIn(BaseModel):
    """A transition asked for through the API."""

    kind: Literal["notified", "acknowledged", "dispatched", "resolved", "rated", "cancelled", "escalated"]
    data: dict[str, str | int | float | bool | None] = Field(default_factory=dict)
    note: str | None = Field(default=None, max_length=500)


class AccountabilityOut(BaseModel):
    """One authority's figures for a period."""

    authority: str
    ward_code: str
    received: int
    acknowledged: int
    acknowledged_in_time: int
    resolved: int
    cancelled: int
    open: int
    overdue: int
    escalated: int
    mean_time_to_acknowledge_s: float | None
    mean_time_to_resolve_s: float | None
    mean_satisfaction: float | None
    ratings: int


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
    api_refused: int = 0  # API requests refused since central started (no credentials, body too large, ...)
    api_refused_by_reason: dict[str, int] = {}
    telemetry_dropped_by_reason: dict[str, int] = {}
    rules_evaluated: int = 0
    database_set_aside: str | None = None  # set when central started on a fresh file beside a damaged one


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


class SessionIn(BaseModel):
    """A dashboard login: a user name and its password."""

    user: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=1024)


class SessionOut(BaseModel):
    """A session token for ``Authorization: Bearer``; keep it in memory, it ends at ``expires_at``."""

    token: str
    token_type: Literal["bearer"] = "bearer"  # noqa: S105 - the scheme's name, not a secret
    user: str
    role: str
    ward: str | None
    expires_at: str
