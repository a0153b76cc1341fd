"""The case state machine and history merge: a fold over a set of events, merged by event-id union."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from central.cases.history import OPEN_STATES, STATES, TRANSITIONS, CaseState, IllegalTransition, apply, fold, union
from protocol.envelopes import CaseEvent, sos_case_ref

REF = sos_case_ref(0x0B000042, 1, 2)
T0 = datetime(2025, 11, 15, 12, 0, tzinfo=UTC)
KINDS = ["notified", "acknowledged", "dispatched", "resolved", "rated", "cancelled", "escalated", "merged"]


def ev(event_id: str, kind: str, minute: int, **data: int | str) -> CaseEvent:
    return CaseEvent(event_id=event_id, case_ref=REF, kind=kind, at=T0 + timedelta(minutes=minute),  # type: ignore[arg-type]
                     actor="test", data=dict(data))


events = st.builds(
    lambda n, kind, minute, stars: ev(f"e{n}", kind, minute, **({"rating": stars} if kind == "rated" else {})),
    st.integers(0, 40), st.sampled_from(KINDS), st.integers(0, 120), st.integers(0, 6),
)
histories = st.lists(events, max_size=25).map(lambda es: [ev("c", "created", 0), *es])


@pytest.mark.unit
def test_a_case_runs_its_course() -> None:
    state = fold(REF, [ev("c", "created", 0), ev("a", "acknowledged", 5), ev("d", "dispatched", 9),
                       ev("r", "resolved", 60), ev("s", "rated", 70, rating=4), ev("m", "merged", 3)])
    assert (state.state, state.presses, state.rating) == ("resolved", 2, 4)
    assert (state.acknowledged_at, state.resolved_at) == (T0 + timedelta(minutes=5), T0 + timedelta(minutes=60))
    assert state.ignored == ()


@pytest.mark.unit
@pytest.mark.parametrize(
    ("before", "event", "reason"),
    [
        ("resolved", ev("x", "acknowledged", 9), "cannot be acknowledged when resolved"),
        ("cancelled", ev("x", "dispatched", 9), "cannot be dispatched when cancelled"),
        ("registered", ev("x", "rated", 9, rating=5), "cannot be rated when registered"),
        ("resolved", ev("x", "rated", 9, rating=6), "a rating is an integer from 1 to 5"),
        ("dispatched", ev("x", "acknowledged", 9), "cannot be acknowledged when dispatched"),
    ],
)
def test_illegal_transitions_are_refused(before: str, event: CaseEvent, reason: str) -> None:
    state = CaseState(REF, state=before)
    with pytest.raises(IllegalTransition, match=reason):
        apply(state, event)


@pytest.mark.unit
def test_a_late_conflicting_event_is_kept_and_ignored() -> None:
    central = [ev("c", "created", 0), ev("central:r", "resolved", 30)]
    gateway = [ev("c", "created", 0), ev("gw:1", "cancelled", 40)]
    state = fold(REF, union(central, gateway))
    assert state.state == "resolved"
    assert state.ignored == (("gw:1", "cannot be cancelled when resolved"),)
    assert {e.event_id for e in union(central, gateway)} == {"c", "central:r", "gw:1"}


@pytest.mark.unit
@settings(max_examples=200, deadline=None)
@given(histories, histories)
def test_merge_is_order_independent(a: list[CaseEvent], b: list[CaseEvent]) -> None:
    assert fold(REF, union(a, b)) == fold(REF, union(b, a))
    assert fold(REF, union(a, b)) == fold(REF, [*reversed(a), *b])


@pytest.mark.unit
@settings(max_examples=200, deadline=None)
@given(histories, histories, histories)
def test_merge_is_associative_idempotent_and_loses_nothing(
    a: list[CaseEvent], b: list[CaseEvent], c: list[CaseEvent]
) -> None:
    assert union(union(a, b), c) == union(a, union(b, c))
    assert union(a, a) == union(a)
    merged = union(a, b)
    assert {e.event_id for e in merged} == {e.event_id for e in [*a, *b]}
    assert len({e.event_id for e in merged}) == len(merged)
    state = fold(REF, merged)
    # Every event is either applied or ignored with a reason: none disappears.
    assert sorted([*state.applied, *(i for i, _ in state.ignored)]) == sorted(e.event_id for e in merged)


@pytest.mark.unit
@settings(max_examples=200, deadline=None)
@given(histories)
def test_fold_only_takes_legal_steps(history: list[CaseEvent]) -> None:
    state, ignored = CaseState(REF), []
    for event in union(history):
        try:
            after = apply(state, event)
        except IllegalTransition as exc:
            ignored.append((event.event_id, exc.reason))
            continue
        if event.kind != "created":
            allowed, target = TRANSITIONS[event.kind]
            assert state.state in allowed
            assert after.state == (target or state.state)
        state = after
    assert state.state in STATES
    assert replace(state, ignored=tuple(ignored)) == fold(REF, history)
    if state.state not in OPEN_STATES:
        assert state.closed_at is not None
