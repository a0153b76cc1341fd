"""Only an emergency is fsynced in its own commit; the rest is made durable by the flusher, then published."""

import threading
from pathlib import Path

import pytest

from gateway.outbox import PRIORITY_TELEMETRY, InboundFrame, Outbox
from gateway.outbox_flusher import OutboxFlusher

pytestmark = pytest.mark.unit


def _frame(kind: str, n: int) -> InboundFrame:
    return InboundFrame(1, kind, bytes([n % 256]) * 20, "2026-11-25T00:00:00+00:00", -90, 7.0)


def test_telemetry_is_not_durable_until_synced_and_an_sos_commit_makes_everything_before_it_durable(
    tmp_path: Path,
) -> None:
    box = Outbox(tmp_path / "o.db", lazy_sync=True)
    readings = box.add([_frame("water_level", i) for i in range(3)])
    assert box.durable_upto == 0
    # What may be published (and so counted as sent) is only what is durable.
    assert box.pending(PRIORITY_TELEMETRY, 0, 10, upto=box.durable_upto) == []
    sos = box.add([_frame("sos", 9)])[0]
    # Its fsync covers the log up to it: the readings committed before it are durable too.
    assert box.durable_upto == sos.msg_id > readings[-1].msg_id
    assert len(box.pending(PRIORITY_TELEMETRY, 0, 10, upto=box.durable_upto)) == 3


def test_without_lazy_sync_every_commit_is_durable(tmp_path: Path) -> None:
    box = Outbox(tmp_path / "o.db")
    stored = box.add([_frame("water_level", 1)])
    assert box.durable_upto == stored[0].msg_id


def test_the_flusher_syncs_readings_forgets_and_says_so(tmp_path: Path) -> None:
    box = Outbox(tmp_path / "o.db", lazy_sync=True)
    durable = threading.Event()
    flusher = OutboxFlusher(box, durable.set)
    flusher.start()
    try:
        stored = box.add([_frame("water_level", i) for i in range(5)])
        assert durable.wait(10), "the flusher never synced the readings"
        assert box.durable_upto == stored[-1].msg_id
        durable.clear()
        box.forget([stored[0].msg_id])  # committed without an fsync of its own, then synced
        assert durable.wait(10), "the flusher never synced the forget"
    finally:
        flusher.close()
        box.close()
    assert Outbox(tmp_path / "o.db").count() == 4
