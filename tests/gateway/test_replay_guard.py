"""New frames pass; mesh duplicates and button retries are duplicates; old frames are replays."""

import pytest

from gateway.replay_guard import ReplayGuard

pytestmark = pytest.mark.unit


def test_new_duplicate_and_replay() -> None:
    guard = ReplayGuard()
    for seq in (10, 11, 12):
        assert guard.check(1, 3, seq) == "new"
        guard.accept(1, 3, seq)
    assert guard.check(1, 3, 12) == "duplicate"  # the mesh repeated it
    assert guard.check(1, 3, 11) == "duplicate"  # a retry of a recent frame
    assert guard.check(1, 3, 13) == "new"
    assert guard.check(1, 2, 500) == "replay"  # an earlier boot epoch
    assert guard.check(1, 4, 0) == "new"  # the node rebooted


def test_an_old_frame_outside_the_recent_window_is_a_replay() -> None:
    guard = ReplayGuard()
    for seq in range(1000):
        guard.accept(1, 1, seq)
    assert guard.check(1, 1, 5) == "replay"
    assert guard.check(1, 1, 999) == "duplicate"


def test_sequence_numbers_wrap() -> None:
    guard = ReplayGuard()
    guard.accept(7, 1, 0xFFFE)
    guard.accept(7, 1, 0xFFFF)
    assert guard.check(7, 1, 0) == "new"
    guard.accept(7, 1, 0)
    assert guard.check(7, 1, 1) == "new"
    assert guard.check(7, 1, 0xFFFF) == "duplicate"
    assert guard.check(7, 1, 0x8001) == "replay"


def test_state_survives_through_newest() -> None:
    guard = ReplayGuard()
    guard.accept(1, 2, 40)
    guard.accept(2, 5, 7)
    restored = ReplayGuard(guard.newest())
    assert restored.check(1, 2, 40) == "duplicate"
    assert restored.check(1, 2, 30) == "replay"
    assert restored.check(2, 5, 8) == "new"
