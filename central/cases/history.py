"""A case is the fold of its events; two histories merge by the union of event ids.

Pure: no clock, no store. Events are ``protocol.envelopes.CaseEvent`` (the contract with the gateway).
The fold sorts the set of events (``created`` first, then by time, then by id), so any two replicas
holding the same events agree on the state whatever order the events arrived in. An event that is
illegal where it falls (e.g. a gateway's ``cancelled`` after central's ``resolved``) stays in the
history, marked ignored, and changes nothing: no event is ever lost.
"""

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from protocol.envelopes import CaseEvent

OPEN_STATES = ("registered", "acknowledged", "dispatched")
STATES = (*OPEN_STATES, "resolved", "cancelled")

# kind -> (states it may happen in, state it leads to; None = stays where it is)
TRANSITIONS: dict[str, tuple[tuple[str, ...], str | None]] = {
    "notified": (OPEN_STATES, None),
    "acknowledged": (("registered",), "acknowledged"),
    "dispatched": (("registered", "acknowledged"), "dispatched"),
    "resolved": (OPEN_STATES, "resolved"),
    "cancelled": (OPEN_STATES, "cancelled"),
    "escalated": (OPEN_STATES, None),
    "merged": (OPEN_STATES, None),
    "rated": (("resolved",), None),
}


class IllegalTransition(ValueError):
    """An event that cannot happen in the case's current state; ``reason`` says why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class CaseState:
    """What the events of one case add up to."""

    case_ref: str
    state: str = "registered"
    created_at: datetime | None = None
    state_since: datetime | None = None  # when the case entered its state (or was last escalated)
    acknowledged_at: datetime | None = None
    dispatched_at: datetime | None = None
    resolved_at: datetime | None = None
    closed_at: datetime | None = None  # resolved or cancelled
    presses: int = 1
    escalation_level: int = 0  # 0 = the ward; n = the n-th level of the ward's escalation chain
    rating: int | None = None
    notified: tuple[str, ...] = ()
    applied: tuple[str, ...] = ()  # event ids, in fold order
    ignored: tuple[tuple[str, str], ...] = ()  # (event id, reason)
    created_data: dict[str, object] = field(default_factory=dict, compare=False)

    @property
    def is_open(self) -> bool:
        """Not yet resolved or cancelled."""
        return self.state in OPEN_STATES


def fold_order(event: CaseEvent) -> tuple[bool, datetime, str]:
    """The canonical order of a history: creation first, then time, then id (a total order)."""
    return (event.kind != "created", event.at, event.event_id)


def check(state: CaseState, event: CaseEvent) -> None:
    """Raise IllegalTransition if ``event`` cannot happen to a case in ``state``."""
    # No case_ref check: a merged press's ref (or a gateway's) may name the same case (the store maps refs).
    if event.kind == "created":
        return  # a second witness of the creation (gateway and central both saw the SOS): a no-op
    allowed, _ = TRANSITIONS[event.kind]
    if state.state not in allowed:
        raise IllegalTransition(f"cannot be {event.kind} when {state.state}")
    if event.kind == "rated":
        stars = event.data.get("rating")
        if not isinstance(stars, int) or isinstance(stars, bool) or not 1 <= stars <= 5:
            raise IllegalTransition("a rating is an integer from 1 to 5")
        if state.rating is not None:
            raise IllegalTransition("already rated")


def apply(state: CaseState, event: CaseEvent) -> CaseState:
    """The state after ``event``; raises IllegalTransition (state unchanged) if it cannot happen."""
    check(state, event)
    applied = (*state.applied, event.event_id)
    if event.kind == "created":
        if state.created_at is not None:
            return _with(state, applied=applied)
        return _with(state, created_at=event.at, state_since=event.at, applied=applied, created_data=dict(event.data))
    _, target = TRANSITIONS[event.kind]
    changes: dict[str, object] = {"applied": applied}
    if target is not None:
        changes.update(state=target, state_since=event.at)
        stamp = {"acknowledged": "acknowledged_at", "dispatched": "dispatched_at", "resolved": "resolved_at"}
        if target in stamp:
            changes[stamp[target]] = event.at
        if target in ("resolved", "cancelled"):
            changes["closed_at"] = event.at
    if event.kind == "merged":
        changes["presses"] = state.presses + 1
    elif event.kind == "escalated":
        level = event.data.get("level")
        nxt = level if isinstance(level, int) and not isinstance(level, bool) else state.escalation_level + 1
        changes.update(escalation_level=max(state.escalation_level, nxt), state_since=event.at)
    elif event.kind == "rated":
        changes["rating"] = event.data["rating"]
    elif event.kind == "notified":
        who = event.data.get("to")
        changes["notified"] = (*state.notified, str(who) if who is not None else event.actor)
    return _with(state, **changes)


def _with(base: CaseState, /, **changes: object) -> CaseState:
    fields = {**base.__dict__, **changes}
    return CaseState(**fields)


def fold(case_ref: str, events: Iterable[CaseEvent]) -> CaseState:
    """The state of a case from any collection of its events (order and repeats do not matter)."""
    state = CaseState(case_ref)
    for event in sorted(union(events), key=fold_order):
        try:
            state = apply(state, event)
        except IllegalTransition as exc:
            state = _with(state, ignored=(*state.ignored, (event.event_id, exc.reason)))
    return state


def _canonical(event: CaseEvent) -> str:
    return event.model_dump_json()


def union(*histories: Iterable[CaseEvent]) -> list[CaseEvent]:
    """Every event of every history once, by event id; if two differ under one id, the same one wins everywhere."""
    by_id: dict[str, CaseEvent] = {}
    for history in histories:
        for event in history:
            kept = by_id.get(event.event_id)
            if kept is None or _canonical(event) < _canonical(kept):
                by_id[event.event_id] = event
    return sorted(by_id.values(), key=fold_order)
