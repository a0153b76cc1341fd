"""CentralStore on SQLite (the embedded default): WAL + synchronous=FULL, one writer, a reader per thread."""

import sqlite3
from pathlib import Path

from central.store.base import QC_COUNTER_PREFIX as QC_COUNTER_PREFIX
from central.store.base import Dialect
from central.store.records import StoredEvent
from central.store.schema import INDEXES_AFTER_MIGRATIONS, MIGRATIONS, OLD_CASES_CHECK, SCHEMA
from central.store.sql import SqlStore
from protocol.envelopes import sos_case_ref
from protocol.sqlite_integrity import set_aside_if_damaged

SQLITE = Dialect(
    name="sqlite",
    begin_write="BEGIN IMMEDIATE",
    begin_snapshot="BEGIN",
    stored_order="rowid",
    epoch_seconds="CAST(strftime('%s', {}) AS INTEGER)",
)
WAL_CHECKPOINT_BYTES = 4 * 1024 * 1024  # SQLite's own default threshold (1,000 pages of 4 KiB)


class SqliteStore(SqlStore):
    """Central's state in one SQLite file; opening a file written by an older release migrates it."""

    def __init__(self, path: Path) -> None:
        super().__init__(SQLITE)
        self._path = path
        # A damaged file is moved away before anything opens it; central then starts on a fresh one.
        self.set_aside = set_aside_if_damaged(path, "central database")
        # The writer as sqlite3 itself too, for what only SQLite has (executescript, PRAGMA).
        self._writer = self._db = self._track(self._open())
        self._db.executescript(SCHEMA)
        self._migrate()

    def _open(self) -> sqlite3.Connection:
        # isolation_level=None: we issue BEGIN/COMMIT ourselves so a batch is exactly one transaction.
        conn = sqlite3.connect(self._path, isolation_level=None, check_same_thread=False, timeout=30.0)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute("PRAGMA foreign_keys=ON")
        # No checkpoint inside a commit: SQLite would run one in whichever commit crosses 1,000 WAL pages,
        # an SOS's too, adding the database file's writes and fsync to that SOS's answer. checkpoint() does
        # it instead, when the ingest has no SOS waiting.
        conn.execute("PRAGMA wal_autocheckpoint=0")
        return conn

    def checkpoint(self) -> None:
        """Copy the WAL into the database once it has grown past ``WAL_CHECKPOINT_BYTES`` (passive: no waiting)."""
        try:
            size = self._path.with_name(self._path.name + "-wal").stat().st_size
        except FileNotFoundError:
            return
        if size < WAL_CHECKPOINT_BYTES:
            return
        with self._write_lock:
            self._db.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()

    def _migrate(self) -> None:
        self._widen_case_states()
        for table, column, decl in MIGRATIONS:
            have = {row[1] for row in self._db.execute(f"PRAGMA table_info({table})")}
            if column not in have:
                self._db.execute(f"ALTER TABLE {table} ADD COLUMN {column} {decl}")
        self._db.executescript(INDEXES_AFTER_MIGRATIONS)
        self._backfill_case_events()
        self._migrate_versions(self._db.executescript)

    def _widen_case_states(self) -> None:
        # SQLite cannot alter a CHECK constraint: rebuild a first-release cases table with the new states.
        db = self._db
        row = db.execute("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'cases'").fetchone()
        if row is None or OLD_CASES_CHECK not in row[0]:
            return
        cols = ", ".join(r[1] for r in db.execute("PRAGMA table_info(cases)"))
        db.execute("BEGIN IMMEDIATE")
        db.execute("ALTER TABLE cases RENAME TO cases_first_release")
        db.execute("DROP INDEX IF EXISTS cases_by_node")
        cases_ddl = SCHEMA.split("CREATE TABLE IF NOT EXISTS cases", 1)[1].split(";", 1)[0]
        db.execute(f"CREATE TABLE cases{cases_ddl}")
        db.execute(f"INSERT INTO cases ({cols}) SELECT {cols} FROM cases_first_release")  # noqa: S608
        db.execute("DROP TABLE cases_first_release")
        db.execute("COMMIT")
        db.executescript(SCHEMA)

    def _backfill_case_events(self) -> None:
        # Cases stored before case events existed get their ref and a `created` (and `cancelled`) event.
        rows = self._db.execute(
            "SELECT case_number, node_id, boot_epoch, seq, created_at, state FROM cases WHERE case_ref IS NULL"
        ).fetchall()
        if not rows:
            return
        with self.transaction() as tx:
            for number, node_id, boot, seq, created_at, state in rows:
                ref = sos_case_ref(node_id, boot, seq)
                tx.execute("UPDATE cases SET case_ref = ? WHERE case_number = ?", (ref, number))
                kinds = ["created"] + (["cancelled"] if state == "cancelled" else [])
                for kind in kinds:
                    event = StoredEvent(number, f"central:{ref}:{kind}", ref, kind, created_at, "central:migration",
                                        "{}", created_at)
                    tx.add_event(event)


CentralStore = SqliteStore
"""The name this class had before the store got a PostgreSQL backend; callers outside central still use it."""
