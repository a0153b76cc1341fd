"""The uplink's congestion control: a window that follows central, resends only of what expired."""

import pytest

from gateway.congestion import CongestionControl

pytestmark = pytest.mark.unit


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _control(clock: Clock, ceiling: int = 8000, floor: int = 200) -> CongestionControl[int]:
    return CongestionControl(clock, ceiling=ceiling, floor=floor, retry_s=20.0, retry_max_s=160.0, slow_after_s=10.0)


def _send(cc: CongestionControl[int], ids: range, emergency: bool = False) -> None:
    for i in ids:
        cc.sent(i, i, emergency)


def test_slow_start_doubles_the_window_per_window_acknowledged_up_to_the_ceiling() -> None:
    clock = Clock()
    cc = _control(clock)
    assert cc.window == 200
    sizes = []
    next_id = 0
    for _round in range(8):
        ids = range(next_id, next_id + cc.room())
        _send(cc, ids)
        next_id = ids.stop
        clock.now += 0.05
        cc.acknowledged(list(ids))
        sizes.append(cc.window)
    assert sizes == [400, 800, 1600, 3200, 6400, 8000, 8000, 8000]


def test_only_what_expired_is_resent_and_the_window_halves_once() -> None:
    clock = Clock()
    cc = _control(clock, floor=100, ceiling=1000)
    _send(cc, range(100))
    clock.now += 0.1
    cc.acknowledged(list(range(100)))  # slow start: 200
    _send(cc, range(100, 300))
    clock.now += 5
    assert cc.due() == []
    cc.acknowledged(list(range(100, 250)))  # quick enough: the window grows
    grown = cc.window
    clock.now += 15.5  # 100..299 were sent 20.5 s ago; 250..299 are still unacknowledged
    assert cc.due() == list(range(250, 300))
    assert cc.window == grown // 2
    assert cc.resent == 50
    cc.acknowledged([1, 2, 3])  # long gone: ignored
    assert cc.due() == []  # not again until the doubled deadline
    clock.now += 39.9
    assert cc.due() == []
    clock.now += 0.2
    assert cc.due() == list(range(250, 300))
    assert cc.window == max(100, grown // 4)  # the resends expired too: congestion anew


def test_per_message_backoff_doubles_up_to_the_cap() -> None:
    clock = Clock()
    cc = _control(clock)
    _send(cc, range(1))
    resent_at = []
    start = clock.now
    for _ in range(2000):
        clock.now += 1.0
        if cc.due():
            resent_at.append(round(clock.now - start))
    gaps = [b - a for a, b in zip([0, *resent_at], resent_at, strict=False)]
    assert gaps[:5] == [20, 40, 80, 160, 160]
    assert set(gaps[4:]) == {160}


def test_a_late_acknowledgement_halves_the_window_before_anything_expires() -> None:
    clock = Clock()
    cc = _control(clock, floor=100, ceiling=4000)
    _send(cc, range(100))
    clock.now += 0.1
    cc.acknowledged(list(range(100)))
    _send(cc, range(100, 300))
    clock.now += 12.0  # central took 12 s: more than slow_after_s, less than retry_s
    cc.acknowledged([100])
    assert cc.window == 100
    assert cc.due() == []
    cc.acknowledged(list(range(101, 300)))  # the rest of that round: the same congestion, no change
    assert cc.window == 100
    assert cc.decreases == 1
    _send(cc, range(300, 400))
    clock.now += 1.0
    cc.acknowledged(list(range(300, 400)))  # a quick round after it: additive increase, one floor per window
    assert cc.window == 200


def test_a_silent_central_shrinks_the_window_to_the_floor_and_no_further() -> None:
    clock = Clock()
    cc = _control(clock, floor=200, ceiling=8000)
    for ids in (range(0, 200), range(200, 600), range(600, 1400), range(1400, 3000)):
        _send(cc, ids)
        cc.acknowledged(list(ids))
    assert cc.window == 3200
    sizes = []
    next_id = 10_000
    for _round in range(8):  # central stops answering; new telemetry only as the window allows
        ids = range(next_id, next_id + cc.room())
        _send(cc, ids)
        next_id = ids.stop
        clock.now += 200
        assert cc.due()
        sizes.append(cc.window)
    assert sizes == [1600, 800, 400, 200, 200, 200, 200, 200]
    assert cc.room() == 0
    assert cc.in_flight == next_id - 10_000


def test_emergencies_ride_outside_the_window_resent_without_backoff_and_first() -> None:
    clock = Clock()
    cc = _control(clock, floor=10, ceiling=10)
    _send(cc, range(10))
    assert cc.room() == 0
    _send(cc, range(10_000, 10_003), emergency=True)
    assert cc.room() == 0
    assert cc.in_flight == 13
    clock.now += 20.5
    assert cc.due() == [10_000, 10_001, 10_002, *range(10)]
    clock.now += 20.5
    assert cc.due() == [10_000, 10_001, 10_002]  # telemetry backs off to 40 s; an SOS does not
    cc.acknowledged([10_000, 10_001, 10_002])
    assert cc.in_flight == 10
    assert cc.room() == 0


def test_restart_forgets_what_was_in_flight_and_keeps_the_window() -> None:
    clock = Clock()
    cc = _control(clock, floor=100, ceiling=1000)
    _send(cc, range(100))
    cc.acknowledged(list(range(100)))
    _send(cc, range(100, 250))
    cc.restart()
    assert cc.in_flight == 0
    assert cc.window == 200
    assert cc.room() == 200
    clock.now += 100
    assert cc.due() == []
