"""A damaged central database found at start: set aside, central goes on fresh and says so in its stats."""

import random
import sqlite3
from pathlib import Path

import pytest

from central.store.sqlite import SqliteStore
from simulations.faults.damage import damage_sqlite

pytestmark = pytest.mark.unit


@pytest.mark.parametrize("how", ["truncate", "bitflip"])
def test_a_damaged_database_is_set_aside_and_stats_say_so(tmp_path: Path, how: str) -> None:
    path = tmp_path / "central.db"
    store = SqliteStore(path)
    store.next_boot_epoch()
    store.close()
    with sqlite3.connect(path) as conn:  # some content, so that damage hits pages that hold something
        conn.execute("CREATE TABLE filler (body BLOB)")
        conn.executemany("INSERT INTO filler VALUES (?)", [(bytes(400),) for _ in range(300)])
    conn.close()
    damage_sqlite(path, how, random.Random(11))  # type: ignore[arg-type]
    store = SqliteStore(path)
    try:
        said = store.stats().database_set_aside
        assert said is not None
        assert "central.db.corrupt-" in said
        assert store.set_aside is not None
        assert store.set_aside.moved_to.exists()
        assert store.next_boot_epoch() == 1  # a fresh file
    finally:
        store.close()


def test_a_sound_database_says_nothing_was_set_aside(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "central.db")
    try:
        assert store.stats().database_set_aside is None
    finally:
        store.close()
