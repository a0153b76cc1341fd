"""The outbox on a bad disk: a damaged file set aside at start, a full disk refusing telemetry before SOS."""

import random
from datetime import UTC, datetime
from pathlib import Path

import pytest

from gateway.outbox import InboundFrame, Outbox
from simulations.faults.damage import damage_sqlite

pytestmark = pytest.mark.unit


def _filled(path: Path) -> None:
    outbox = Outbox(path)
    now = datetime.now(UTC).isoformat()
    outbox.add([InboundFrame(n, "water_level", bytes(60), now) for n in range(300)])
    outbox.close()


@pytest.mark.parametrize("how", ["truncate", "bitflip"])
def test_a_damaged_outbox_is_set_aside_and_a_fresh_one_works(tmp_path: Path, how: str) -> None:
    path = tmp_path / "outbox.db"
    _filled(path)
    damage_sqlite(path, how, random.Random(7))  # type: ignore[arg-type]
    outbox = Outbox(path)
    try:
        assert outbox.set_aside is not None
        assert outbox.set_aside.moved_to.exists()
        assert "set aside" in outbox.set_aside.describe()
        assert outbox.count() == 0
        now = datetime.now(UTC).isoformat()
        assert len(outbox.add([InboundFrame(1, "sos", b"x", now)])) == 1
    finally:
        outbox.close()


def test_a_sound_outbox_is_kept(tmp_path: Path) -> None:
    path = tmp_path / "outbox.db"
    _filled(path)
    outbox = Outbox(path)
    try:
        assert outbox.set_aside is None
        assert outbox.count() == 300
    finally:
        outbox.close()


def test_a_full_disk_refuses_telemetry_first_and_storing_resumes_by_itself(tmp_path: Path) -> None:
    outbox = Outbox(tmp_path / "outbox.db")
    now = datetime.now(UTC).isoformat()
    try:
        pages = int(outbox._db.execute("PRAGMA page_count").fetchone()[0])
        outbox._db.execute(f"PRAGMA max_page_count = {pages + 6}")  # SQLITE_FULL, as on a full disk
        readings = [InboundFrame(n % 7, "water_level", bytes(200), now) for n in range(400)]
        stored: list[object] = []
        for reading in readings:
            done, refused = outbox.add_making_room([reading])
            stored += done
            if refused:
                break
        assert refused == [reading], "the disk never filled"
        sos = InboundFrame(99, "sos", bytes(40), now)
        done, refused = outbox.add_making_room([sos, readings[0]])
        assert [m.kind for m in done] == ["sos"], "the SOS is stored: telemetry thinned to make room"
        assert refused == [readings[0]]
        assert outbox.disk_full >= 2
        outbox._db.execute("PRAGMA max_page_count = 1000000")  # space is back
        done, refused = outbox.add_making_room([readings[1]])
        assert (len(done), refused) == (1, [])
    finally:
        outbox.close()
