"""A damaged outbox found at start: set aside, and the gateway goes on with a fresh, working one."""

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
