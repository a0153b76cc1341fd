"""The outbox keeps frames on disk until central acknowledges them, SOS first."""

from pathlib import Path

import pytest

from gateway.outbox import PRIORITY_EMERGENCY, PRIORITY_TELEMETRY, InboundFrame, Outbox

pytestmark = pytest.mark.unit


def _frame(kind: str, n: int, node: int = 1) -> InboundFrame:
    return InboundFrame(node, kind, bytes([n % 256]) * 20, "2026-11-25T00:00:00+00:00", -90, 7.0)


def test_frames_survive_reopening(tmp_path: Path) -> None:
    box = Outbox(tmp_path / "o.db")
    stored = box.add([_frame("water_level", 1), _frame("sos", 2)])
    box.close()
    reopened = Outbox(tmp_path / "o.db")
    assert reopened.count() == 2
    assert [m.frame for m in reopened.pending(PRIORITY_EMERGENCY, 0, 10)] == [stored[1].frame]


def test_sos_is_its_own_priority_and_order_is_kept(tmp_path: Path) -> None:
    box = Outbox(tmp_path / "o.db")
    box.add([_frame("water_level", i) for i in range(5)] + [_frame("sos", 9), _frame("sos_cancel", 10)])
    assert [m.kind for m in box.pending(PRIORITY_EMERGENCY, 0, 10)] == ["sos", "sos_cancel"]
    telemetry = box.pending(PRIORITY_TELEMETRY, 0, 10)
    assert [m.frame[0] for m in telemetry] == [0, 1, 2, 3, 4]
    assert [m.frame[0] for m in box.pending(PRIORITY_TELEMETRY, telemetry[1].msg_id, 2)] == [2, 3]


def test_forget_only_removes_named_messages(tmp_path: Path) -> None:
    box = Outbox(tmp_path / "o.db")
    stored = box.add([_frame("water_level", i) for i in range(3)])
    assert box.forget([stored[0].msg_id, stored[2].msg_id, 999]) == 2
    assert box.count() == 1
    assert box.forget([stored[0].msg_id]) == 0


def test_ids_are_never_reused(tmp_path: Path) -> None:
    box = Outbox(tmp_path / "o.db")
    first = box.add([_frame("sos", 1)])[0].msg_id
    box.forget([first])
    assert box.add([_frame("sos", 2)])[0].msg_id > first


def test_a_full_outbox_thins_telemetry_but_keeps_every_sos_and_each_nodes_latest(tmp_path: Path) -> None:
    box = Outbox(tmp_path / "o.db", capacity=10)
    box.add([_frame("sos", 200)])
    for n in range(30):
        box.add([_frame("water_level", n, node=1 + n % 2)])
    box.add([_frame("sos", 201)])
    assert box.count() <= 10
    assert [m.frame[0] for m in box.pending(PRIORITY_EMERGENCY, 0, 10)] == [200, 201]
    kept = [m.frame[0] for m in box.pending(PRIORITY_TELEMETRY, 0, 100)]
    assert kept == sorted(kept)
    assert {28, 29} <= set(kept)  # the latest of node 2 and node 1
    assert box.thinned == 32 - box.count()


def test_sos_is_kept_past_capacity(tmp_path: Path) -> None:
    box = Outbox(tmp_path / "o.db", capacity=3)
    box.add([_frame("sos", n) for n in range(5)])
    assert box.count() == 5
    assert box.thinned == 0


def test_count_survives_reopen_after_thinning(tmp_path: Path) -> None:
    box = Outbox(tmp_path / "o.db", capacity=4)
    box.add([_frame("water_level", n) for n in range(9)])
    n = box.count()
    box.close()
    assert Outbox(tmp_path / "o.db").count() == n
