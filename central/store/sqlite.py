"""CentralStore on SQLite: WAL + synchronous=FULL, one writer, a reader connection per thread.

The ingest thread writes whole batches in one transaction; API threads read through their own
connections, so WAL lets them see the last committed state without waiting for a long write.
"""

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from central.store.records import Case, NodeHealth, Reading, Stats
from central.store.schema import SCHEMA
from central.store.transaction import CASE_COLUMNS, StoreTx, case_from_row


class CentralStore:
    """Durable state of central; safe to share between the ingest thread and API threads."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._write_lock = threading.Lock()
        self._local = threading.local()
        self._all: list[sqlite3.Connection] = []
        self._all_lock = threading.Lock()
        self._writer = self._connect()
        self._writer.executescript(SCHEMA)

    def _connect(self) -> sqlite3.Connection:
        # isolation_level=None: we issue BEGIN/COMMIT ourselves so a batch is exactly one transaction.
        conn = sqlite3.connect(self._path, isolation_level=None, check_same_thread=False, timeout=30.0)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute("PRAGMA foreign_keys=ON")
        with self._all_lock:
            self._all.append(conn)
        return conn

    def _reader(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._connect()
            self._local.conn = conn
        return conn

    @contextmanager
    def transaction(self) -> Iterator[StoreTx]:
        """One write transaction: committed (durably) on exit, rolled back on an exception."""
        with self._write_lock:
            self._writer.execute("BEGIN IMMEDIATE")
            try:
                yield StoreTx(self._writer)
            except BaseException:
                self._writer.execute("ROLLBACK")
                raise
            self._writer.execute("COMMIT")

    def next_boot_epoch(self) -> int:
        """Increment and return central's boot epoch (u16, never 0) for its downlink frames."""
        with self.transaction() as tx:
            return tx.bump_boot_epoch()

    def cases(self, ward: str | None = None, state: str | None = None, limit: int = 500) -> list[Case]:
        """Cases newest first, optionally only one ward and/or state."""
        where, args = [], []
        if ward is not None:
            where.append("ward_code = ?")
            args.append(ward)
        if state is not None:
            where.append("state = ?")
            args.append(state)
        clause = f"WHERE {' AND '.join(where)}" if where else ""
        rows = self._reader().execute(
            f"SELECT {CASE_COLUMNS} FROM cases {clause} ORDER BY case_number DESC LIMIT ?",  # noqa: S608 - fixed SQL
            (*args, limit),
        )
        return [case_from_row(r) for r in rows]

    def readings(self, station_id: str, limit: int) -> list[Reading]:
        """A station's most recent readings, newest first."""
        rows = self._reader().execute(
            "SELECT node_id, boot_epoch, seq, station_id, node_ts, received_at, distance_mm, level_m, battery_pct, "
            "flags FROM readings WHERE station_id = ? ORDER BY received_at DESC, id DESC LIMIT ?",
            (station_id, limit),
        )
        return [Reading(*r) for r in rows]

    def node_health(self) -> list[NodeHealth]:
        """The latest status of every node that reported one."""
        rows = self._reader().execute(
            "SELECT node_id, boot_epoch, seq, node_ts, received_at, battery_pct, uptime_s, unsent, gateway, ward "
            "FROM node_status ORDER BY node_id"
        )
        return [NodeHealth(*r) for r in rows]

    def counter(self, name: str) -> int:
        """The value of a named counter (0 if never bumped)."""
        row = self._reader().execute("SELECT value FROM counters WHERE name = ?", (name,)).fetchone()
        return int(row[0]) if row else 0

    def stats(self) -> Stats:
        """Totals for the dashboard; read in one snapshot so they agree with each other."""
        conn = self._reader()
        conn.execute("BEGIN")
        try:
            readings = conn.execute("SELECT count(*) FROM readings").fetchone()[0]
            cases, open_cases = conn.execute(
                "SELECT count(*), coalesce(sum(state = 'registered'), 0) FROM cases"
            ).fetchone()
            counters = dict(conn.execute("SELECT name, value FROM counters").fetchall())
            by_reason = dict(conn.execute("SELECT reason, count FROM rejections ORDER BY reason").fetchall())
        finally:
            conn.execute("COMMIT")
        return Stats(
            readings_stored=int(readings),
            sos_cases=int(cases),
            open_cases=int(open_cases),
            acks_sent=int(counters.get("acks_sent", 0)),
            duplicates=int(counters.get("duplicates", 0)),
            rejected=sum(int(v) for v in by_reason.values()),
            rejected_by_reason={str(k): int(v) for k, v in by_reason.items()},
        )

    def close(self) -> None:
        """Close every connection this store opened (from any thread)."""
        with self._all_lock:
            for conn in self._all:
                conn.close()
            self._all.clear()
