"""A damaged SQLite file is found at start, set aside with its name and time, never opened in place."""

import random
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest

from protocol.sqlite_integrity import integrity_problem, set_aside_if_damaged
from simulations.faults.damage import damage_sqlite

pytestmark = pytest.mark.unit

NOW = datetime(2026, 12, 1, 17, 0, 0, tzinfo=UTC)


def _db(path: Path) -> Path:
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, body BLOB)")
        conn.execute("CREATE INDEX t_body ON t (body)")
        conn.executemany("INSERT INTO t (body) VALUES (?)", [(bytes([i % 256]) * 300,) for i in range(200)])
    conn.close()
    return path


def test_a_sound_file_and_a_missing_one_are_left_alone(tmp_path: Path) -> None:
    db = _db(tmp_path / "ok.db")
    assert integrity_problem(db) is None
    assert set_aside_if_damaged(db, "test db", NOW) is None
    assert set_aside_if_damaged(tmp_path / "absent.db", "test db", NOW) is None
    assert db.exists()


@pytest.mark.parametrize("how", ["truncate", "bitflip"])
def test_a_damaged_file_is_set_aside_with_name_and_time(
    tmp_path: Path, how: str, caplog: pytest.LogCaptureFixture
) -> None:
    db = _db(tmp_path / "outbox.db")
    damage_sqlite(db, how, random.Random(3))  # type: ignore[arg-type]
    assert integrity_problem(db) is not None
    done = set_aside_if_damaged(db, "gateway outbox", NOW)
    assert done is not None
    assert done.moved_to == tmp_path / "outbox.db.corrupt-20261201T170000Z"
    assert done.moved_to.exists()
    assert not db.exists()
    assert "set aside" in caplog.text
    assert "gateway outbox" in caplog.text


def test_two_damaged_files_in_one_second_both_kept(tmp_path: Path) -> None:
    for expected in ("outbox.db.corrupt-20261201T170000Z", "outbox.db.corrupt-20261201T170000Z-2"):
        db = tmp_path / "outbox.db"
        db.write_bytes(b"not a database at all, certainly not SQLite" * 100)
        done = set_aside_if_damaged(db, "gateway outbox", NOW)
        assert done is not None
        assert done.moved_to.name == expected


def test_the_wal_goes_aside_with_its_file(tmp_path: Path) -> None:
    db = tmp_path / "central.db"
    db.write_bytes(b"garbage" * 1000)
    Path(f"{db}-wal").write_bytes(b"wal")
    done = set_aside_if_damaged(db, "central database", NOW)
    assert done is not None
    assert Path(f"{done.moved_to}-wal").read_bytes() == b"wal"
    assert not Path(f"{db}-wal").exists()
