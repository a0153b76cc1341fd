"""Rows the store hands out and takes in: plain frozen dataclasses, no SQL."""

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

_ZERO = timedelta(0)


def iso(moment: datetime) -> str:
    """A timestamp as stored: UTC, fixed width, so text order is time order."""
    if moment.tzinfo is not UTC and moment.utcoffset() != _ZERO:  # the conversion costs more than the formatting
        moment = moment.astimezone(UTC)
    return moment.isoformat(timespec="milliseconds")


@dataclass(frozen=True)
class Reading:
    """One water-level report as stored."""

    node_id: int
    boot_epoch: int
    seq: int
    station_id: str | None
    node_ts: int
    received_at: str
    distance_mm: int
    level_m: float | None
    battery_pct: int
    flags: int
    qc_flag: int = 2  # QARTOD: 1 pass, 2 not evaluated, 3 suspect, 4 fail, 9 missing
    qc_reason: str | None = None
    level_at: str | None = None  # the sensor's time if plausible, else when it was heard


@dataclass(frozen=True)
class NewCase:
    """An SOS to register as a case."""

    node_id: int
    boot_epoch: int
    seq: int
    ward_code: str
    ward_name: str
    authority: str
    kind: int
    people: int
    vulnerable: int
    lat: float | None
    lon: float | None
    located_by: str
    created_at: str
    heard_at: str
    gateway: str
    case_ref: str | None = None
    priority: int = 3


@dataclass(frozen=True)
class Case:
    """A case as stored, with its number, state and press count."""

    case_number: int
    node_id: int
    boot_epoch: int
    seq: int
    ward_code: str
    ward_name: str
    authority: str
    kind: int
    people: int
    vulnerable: int
    lat: float | None
    lon: float | None
    located_by: str
    state: str
    created_at: str
    heard_at: str
    gateway: str
    presses: int
    case_ref: str | None = None
    priority: int = 3
    escalation_level: int = 0
    escalated_to: str | None = None
    due_at: str | None = None  # the open case's next deadline
    acknowledged_at: str | None = None
    resolved_at: str | None = None
    closed_at: str | None = None
    rating: int | None = None


@dataclass(frozen=True)
class StoredEvent:
    """A case event as stored: the event, the case it belongs to, and when central stored it."""

    case_number: int
    event_id: str
    case_ref: str
    kind: str
    at: str
    actor: str
    data: str  # JSON object
    stored_at: str


@dataclass(frozen=True)
class Projection:
    """The read-model columns a case's events decide."""

    state: str
    presses: int
    priority: int
    escalation_level: int
    escalated_to: str | None
    due_at: str | None
    acknowledged_at: str | None
    resolved_at: str | None
    closed_at: str | None
    rating: int | None


@dataclass(frozen=True)
class NodeHealth:
    """The latest status report of one node."""

    node_id: int
    boot_epoch: int
    seq: int
    node_ts: int
    received_at: str
    battery_pct: int
    uptime_s: int
    unsent: int
    gateway: str
    ward: str


@dataclass(frozen=True)
class Stats:
    """Totals for the dashboard and /api/stats."""

    readings_stored: int
    sos_cases: int
    open_cases: int
    acks_sent: int
    duplicates: int
    rejected: int
    rejected_by_reason: dict[str, int]
    flagged_by_reason: dict[str, int] = field(default_factory=dict)
    alerts: int = 0
    telemetry_dropped_by_reason: dict[str, int] = field(default_factory=dict)  # points the time-series store lost
    rules_evaluated: int = 0  # quality-passed readings the flood rules ran on
    database_set_aside: str | None = None  # a damaged database found at start, moved away (what, where, when)


@dataclass(frozen=True)
class StoredAlert:
    """An alert event as stored and served: the event plus its id, station name, wards and text."""

    id: int
    station_id: str
    station_name: str
    kind: str
    level: str
    level_m: float
    rate_m_per_h: float | None
    eta_next_s: float | None
    next_level: str | None
    at: str  # ISO 8601 UTC, the reading's sensor time
    wards: tuple[str, ...]
    text: str


@dataclass(frozen=True)
class GatewayStatusRow:
    """A gateway's own latest status as stored (columns of ``gateway_status``, in order)."""

    ward: str
    gateway: str
    online: bool
    outbox_pending: int
    radio: str | None  # connecting | up | down; None from a gateway that does not say
    sent_at: str | None  # the gateway's clock; None in a last will
    heard_at: str  # central's clock
