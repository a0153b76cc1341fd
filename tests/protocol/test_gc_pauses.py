"""After start-up, a full collection no longer walks what the process made at start, and still frees garbage."""

import gc
import weakref
from collections.abc import Iterator

import pytest

from protocol.gc_pauses import freeze_startup_objects


@pytest.fixture
def frozen() -> Iterator[None]:
    freeze_startup_objects()
    yield
    gc.unfreeze()  # the test process goes on with its objects collectable again


class _Node:
    def __init__(self) -> None:
        self.other: _Node | None = None


@pytest.mark.unit
def test_objects_alive_at_start_are_left_out_of_later_collections(frozen: None) -> None:
    assert gc.get_freeze_count() > 1000  # the interpreter, the imported libraries, the test's own objects
    tracked_after_start = sum(len(gc.get_objects(generation)) for generation in range(3))
    assert tracked_after_start < gc.get_freeze_count() // 10  # what a full pass walks now


@pytest.mark.unit
def test_a_cycle_made_after_start_is_still_collected(frozen: None) -> None:
    a, b = _Node(), _Node()
    a.other, b.other = b, a
    gone = weakref.ref(a)
    del a, b
    gc.collect()
    assert gone() is None
