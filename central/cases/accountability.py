"""Accountability per authority: how each ward's People's Committee answered the cases of a period."""

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from statistics import fmean

from central.cases.deadlines import Deadlines
from central.store.records import Case
from protocol.frames import SOS_KINDS


@dataclass(frozen=True)
class AuthorityRecord:
    """One authority's figures for a period (times in seconds; None when nothing to average)."""

    authority: str
    ward_code: str
    received: int
    acknowledged: int
    acknowledged_in_time: int
    resolved: int
    cancelled: int
    open: int
    overdue: int  # open and past its deadline now
    escalated: int  # ever escalated above the ward
    mean_time_to_acknowledge_s: float | None
    mean_time_to_resolve_s: float | None
    mean_satisfaction: float | None
    ratings: int


def _secs(start: str, end: str | None) -> float | None:
    return None if end is None else (datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds()


def _mean(values: Iterable[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return round(fmean(present), 1) if present else None


def account(cases: Iterable[Case], deadlines: Deadlines, now: datetime) -> list[AuthorityRecord]:
    """Figures per authority for the given cases (those received in the period), worst overdue first."""
    by_authority: dict[tuple[str, str], list[Case]] = defaultdict(list)
    for case in cases:
        by_authority[(case.authority, case.ward_code)].append(case)
    out = []
    for (authority, ward), group in by_authority.items():
        in_time = 0
        for c in group:
            allowed = deadlines.allowed("registered", SOS_KINDS[c.kind] if 0 <= c.kind < len(SOS_KINDS) else "help")
            took = _secs(c.created_at, c.acknowledged_at)
            if took is not None and (allowed is None or took <= allowed.total_seconds()):
                in_time += 1
        open_cases = [c for c in group if c.closed_at is None and c.state not in ("resolved", "cancelled")]
        ratings = [c.rating for c in group if c.rating is not None]
        out.append(
            AuthorityRecord(
                authority=authority,
                ward_code=ward,
                received=len(group),
                acknowledged=sum(c.acknowledged_at is not None for c in group),
                acknowledged_in_time=in_time,
                resolved=sum(c.state == "resolved" for c in group),
                cancelled=sum(c.state == "cancelled" for c in group),
                open=len(open_cases),
                overdue=sum(c.due_at is not None and datetime.fromisoformat(c.due_at) <= now for c in open_cases),
                escalated=sum(c.escalation_level > 0 for c in group),
                mean_time_to_acknowledge_s=_mean(_secs(c.created_at, c.acknowledged_at) for c in group),
                mean_time_to_resolve_s=_mean(_secs(c.created_at, c.resolved_at) for c in group),
                mean_satisfaction=_mean(float(r) for r in ratings),
                ratings=len(ratings),
            )
        )
    return sorted(out, key=lambda r: (-r.overdue, -r.received, r.ward_code))
