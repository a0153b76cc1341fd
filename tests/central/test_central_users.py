"""`floodmesh users add|revoke|list` and the secrets it stores (hashes only)."""

import sqlite3
from pathlib import Path

import pytest

from central.core.security import hash_secret, verify_secret
from central.store.sqlite import SqliteStore
from central.store.users import get_user
from floodmesh.users_cli import main


@pytest.mark.unit
def test_add_list_revoke(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = str(tmp_path / "central.db")
    assert main(["users", "--db", db, "add", "lan", "--role", "ward", "--ward", "19774"]) == 0
    token = capsys.readouterr().out.strip()
    assert token.startswith("lan.")
    assert main(["users", "--db", db, "add", "lan", "--role", "ward", "--ward", "19774"]) == 2
    assert "exists" in capsys.readouterr().out
    assert main(["users", "--db", db, "add", "boss", "--role", "operator", "--ward", "19774"]) == 2
    capsys.readouterr()
    assert main(["users", "--db", db, "list"]) == 0
    assert capsys.readouterr().out.startswith("lan\tward\t19774\tactive")
    store = SqliteStore(Path(db))
    user = get_user(store, "lan")
    store.close()
    assert user is not None
    assert token.split(".", 1)[1] not in user.token_hash
    assert verify_secret(token.split(".", 1)[1], user.token_hash)
    assert main(["users", "--db", db, "revoke", "lan"]) == 0
    assert main(["users", "--db", db, "revoke", "lan"]) == 1
    capsys.readouterr()
    assert main(["users", "--db", db, "add", "lan", "--role", "ward", "--ward", "19774"]) == 0  # re-issued
    assert capsys.readouterr().out.strip() != token


@pytest.mark.unit
def test_secret_hashes() -> None:
    stored = hash_secret("s3cret")
    assert stored.startswith("scrypt$16384$8$1$")
    assert verify_secret("s3cret", stored)
    assert not verify_secret("s3cret!", stored)
    assert not verify_secret("s3cret", "md5$x")
    assert not verify_secret("s3cret", "scrypt$zz$8$1$00$00")
    assert hash_secret("s3cret") != stored  # salted


@pytest.mark.unit
def test_a_first_release_store_is_migrated(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite"
    conn = sqlite3.connect(path)
    conn.executescript(
        "CREATE TABLE cases (case_number INTEGER PRIMARY KEY AUTOINCREMENT, node_id INTEGER NOT NULL, "
        "boot_epoch INTEGER NOT NULL, seq INTEGER NOT NULL, ward_code TEXT NOT NULL, ward_name TEXT NOT NULL, "
        "authority TEXT NOT NULL, kind INTEGER NOT NULL, people INTEGER NOT NULL, vulnerable INTEGER NOT NULL, "
        "lat REAL, lon REAL, located_by TEXT NOT NULL CHECK (located_by IN ('gps', 'registry', 'gateway')), "
        "state TEXT NOT NULL CHECK (state IN ('registered', 'cancelled')), created_at TEXT NOT NULL, "
        "heard_at TEXT NOT NULL, gateway TEXT NOT NULL, presses INTEGER NOT NULL DEFAULT 1, "
        "UNIQUE (node_id, boot_epoch, seq));"
        "INSERT INTO cases VALUES (1, 184549442, 1, 2, '19774', 'Kim Long', 'UBND', 1, 3, 0, NULL, NULL, 'gateway', "
        "'cancelled', '2025-11-15T12:00:00.000+00:00', '2025-11-15T12:00:00.000+00:00', 'gw', 1);"
    )
    conn.commit()
    conn.close()
    store = SqliteStore(path)
    (case,) = store.cases()
    assert (case.case_ref, case.state) == ("sos:0b000042:1:2", "cancelled")
    assert [e.kind for e in store.case_events(1)] == ["created", "cancelled"]
    with store.transaction() as tx:
        tx.execute("UPDATE cases SET state = 'resolved' WHERE case_number = 1")  # the wider CHECK
    store.close()
    again = SqliteStore(path)  # opening twice changes nothing
    assert [e.kind for e in again.case_events(1)] == ["created", "cancelled"]
    again.close()
