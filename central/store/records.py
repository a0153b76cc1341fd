"""Rows the store hands out and takes in: plain frozen dataclasses, no SQL."""

from dataclasses import dataclass
from datetime import UTC, datetime


def iso(moment: datetime) -> str:
    """A timestamp as stored: UTC, fixed width, so text order is time order."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds")


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
