"""The SQL both backends share: the reads, the write transaction, one reader connection per thread.

The ingest thread writes whole batches in one transaction on the writer connection; API threads read
through their own connections and see the last committed state without waiting for a long write.
"""

import json
import logging
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, TypeVar

from central.store.base import (
    QC_COUNTER_PREFIX,
    RULES_EVALUATED,
    TELEMETRY_DROPPED_PREFIX,
    Change,
    CommitObserver,
    Connection,
    Dialect,
)
from central.store.records import Case, NodeHealth, Reading, Stats, StoredAlert, StoredEvent
from central.store.schema import SCHEMA_VERSION_KEY, migrations_after
from central.store.transaction import CASE_COLUMNS, EVENT_COLUMNS, StoreTx, case_from_row
from protocol.sqlite_integrity import SetAside

_READING_COLUMNS = (
    "node_id, boot_epoch, seq, station_id, node_ts, received_at, distance_mm, level_m, battery_pct, flags, qc_flag, "
    "qc_reason, level_at"
)

C = TypeVar("C", bound=Connection)
log = logging.getLogger(__name__)


def _iso_of(t: int) -> str:
    return datetime.fromtimestamp(t, UTC).isoformat(timespec="milliseconds")


class SqlStore(ABC):
    """CentralStore over a SQL database; a backend supplies its dialect, connections and schema."""

    def __init__(self, dialect: Dialect) -> None:
        self._dialect = dialect
        self._write_lock = threading.Lock()
        self._local = threading.local()
        self._all: list[Connection] = []
        self._all_lock = threading.Lock()
        self.on_commit: list[CommitObserver] = []
        self._writer: Connection  # opened by the backend, which then creates or migrates the schema
        self.set_aside: SetAside | None = None  # a damaged database file moved away at open (SQLite)

    @property
    def dialect(self) -> Dialect:
        """The backend's SQL dialect."""
        return self._dialect

    def _migrate_versions(self, run_script: Callable[[str], object]) -> None:
        """Apply the versioned migrations the database lacks (``run_script`` runs backend DDL) and record them."""
        row = self._writer.execute("SELECT value FROM meta WHERE key = ?", (SCHEMA_VERSION_KEY,)).fetchone()
        for version, ddl in migrations_after(int(row[0]) if row else 0):
            run_script(ddl)  # idempotent DDL: a crash before the version is recorded only repeats it
            self._writer.execute("INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) "
                                 "DO UPDATE SET value = excluded.value", (SCHEMA_VERSION_KEY, version))

    @abstractmethod
    def _open(self) -> Connection:
        """A new connection to the backend's database, ready for the store's statements."""

    def _track(self, conn: C) -> C:
        # Every connection is closed by close(), whichever thread opened it.
        with self._all_lock:
            self._all.append(conn)
        return conn

    def _connect(self) -> Connection:
        return self._track(self._open())

    def _reader(self) -> Connection:
        conn: Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._connect()
            self._local.conn = conn
        return conn

    @contextmanager
    def _reading(self) -> Iterator[Connection]:
        """A connection for reads (its results must be consumed inside): by default one kept per thread."""
        yield self._reader()

    def _fetchone(self, sql: str, args: Sequence[Any] = ()) -> Any:
        with self._reading() as conn:
            return conn.execute(sql, args).fetchone()

    def _fetchall(self, sql: str, args: Sequence[Any] = ()) -> list[Any]:
        with self._reading() as conn:
            return list(conn.execute(sql, args).fetchall())

    def _commit(self, conn: Connection) -> None:
        """End the write transaction (a backend may first check it was not aborted)."""
        conn.execute("COMMIT")

    @contextmanager
    def transaction(self) -> Iterator[StoreTx]:
        """One write transaction: committed (durably) on exit, rolled back on an exception."""
        with self._write_lock:
            writer = self._writer = self._usable_writer()
            writer.execute(self._dialect.begin_write)
            try:
                tx = StoreTx(writer, self._dialect)
                yield tx
            except BaseException:
                writer.execute("ROLLBACK")
                raise
            self._commit(writer)
        if tx.changed:
            self._tell(frozenset(tx.changed))

    def _tell(self, changed: frozenset[Change]) -> None:
        # After the commit and outside the write lock: an observer reading the store sees the change.
        for observer in self.on_commit:
            try:
                observer(changed)
            except Exception:
                log.exception("commit observer %r failed; the transaction itself is committed", observer)

    def _usable_writer(self) -> Connection:
        """The writer connection, reopened if the backend knows it broke (under the write lock)."""
        return self._writer

    @abstractmethod
    def checkpoint(self) -> None:
        """Upkeep the backend does between transactions, at a moment the caller chooses."""

    def next_boot_epoch(self) -> int:
        """Increment and return central's boot epoch (u16, never 0) for its downlink frames."""
        with self.transaction() as tx:
            return tx.bump_boot_epoch()

    def cases(
        self,
        ward: str | None = None,
        state: str | None = None,
        limit: int = 500,
        priority: int | None = None,
        overdue_at: str | None = None,
        since: str | None = None,
        until: str | None = None,
    ) -> list[Case]:
        """Cases newest first, filtered by ward code, state, priority, overdue at a time, creation period."""
        where, args = [], []
        for clause, value in (
            ("ward_code = ?", ward), ("state = ?", state), ("priority = ?", priority),
            ("due_at <= ? AND state IN ('registered', 'acknowledged', 'dispatched')", overdue_at),
            ("created_at >= ?", since), ("created_at < ?", until),
        ):
            if value is not None:
                where.append(clause)
                args.append(value)
        clause = f"WHERE {' AND '.join(where)}" if where else ""
        rows = self._fetchall(
            f"SELECT {CASE_COLUMNS} FROM cases {clause} ORDER BY case_number DESC LIMIT ?",  # noqa: S608 - fixed SQL
            (*args, limit),
        )
        return [case_from_row(r) for r in rows]

    def case(self, case_number: int) -> Case | None:
        """One case by number."""
        sql = f"SELECT {CASE_COLUMNS} FROM cases WHERE case_number = ?"  # noqa: S608 - constant columns
        row = self._fetchone(sql, (case_number,))
        return None if row is None else case_from_row(row)

    def case_events(self, case_number: int) -> list[StoredEvent]:
        """A case's events in the order central stored them."""
        rows = self._fetchall(
            f"SELECT {EVENT_COLUMNS} FROM case_events WHERE case_number = ? "  # noqa: S608
            f"ORDER BY {self.dialect.stored_order}",
            (case_number,),
        )
        return [StoredEvent(*r) for r in rows]

    def read_one(self, sql: str, args: tuple[object, ...] = ()) -> tuple[Any, ...] | None:
        """One row of a constant query with bound values (modules with their own tables, e.g. users)."""
        row = self._fetchone(sql, args)
        return None if row is None else tuple(row)

    def read_all(self, sql: str, args: tuple[object, ...] = ()) -> list[tuple[Any, ...]]:
        """Every row of a constant query with bound values."""
        return [tuple(r) for r in self._fetchall(sql, args)]

    def directories(self) -> list[str]:
        """Every ward's directory (WardDirectory JSON), by ward code."""
        return [r[0] for r in self._fetchall("SELECT directory FROM ward_directory ORDER BY ward")]

    def directory(self, ward: str) -> str | None:
        """One ward's directory JSON, if it has one."""
        row = self._fetchone("SELECT directory FROM ward_directory WHERE ward = ?", (ward,))
        return None if row is None else str(row[0])

    def readings(self, station_id: str, limit: int) -> list[Reading]:
        """A station's most recent readings, newest first."""
        rows = self._fetchall(
            f"SELECT {_READING_COLUMNS} FROM readings WHERE station_id = ? "  # noqa: S608 - constant columns
            "ORDER BY received_at DESC, id DESC LIMIT ?",
            (station_id, limit),
        )
        return [Reading(*r) for r in rows]

    def readings_between(self, station_id: str, since: str, until: str, limit: int) -> list[Reading]:
        """A station's readings with level time in [since, until), oldest first."""
        rows = self._fetchall(
            f"SELECT {_READING_COLUMNS} FROM readings WHERE station_id = ? "  # noqa: S608 - constant columns
            "AND level_at >= ? AND level_at < ? ORDER BY level_at, id LIMIT ?",
            (station_id, since, until, limit),
        )
        return [Reading(*r) for r in rows]

    def levels_downsampled(
        self, station_id: str, since: str, until: str, bucket_s: int
    ) -> list[tuple[str, float, float, float, int]]:
        """(bucket start, mean, min, max, n) of quality-passed levels per ``bucket_s`` bucket, oldest first."""
        rows = self._fetchall(
            f"SELECT {self.dialect.epoch_seconds.format('level_at')} / ? * ? AS b, avg(level_m), min(level_m), "  # noqa: S608
            "max(level_m), count(*) FROM readings WHERE station_id = ? AND level_at >= ? AND level_at < ? "
            "AND qc_flag = 1 AND level_m IS NOT NULL GROUP BY b ORDER BY b",
            (bucket_s, bucket_s, station_id, since, until),
        )
        return [(_iso_of(int(b)), float(a), float(lo), float(hi), int(n)) for b, a, lo, hi, n in rows]

    def alerts(self, station_id: str | None = None, limit: int = 500) -> list[StoredAlert]:
        """Alert events newest first, optionally of one station."""
        clause, args = ("WHERE station_id = ?", [station_id]) if station_id is not None else ("", [])
        rows = self._fetchall(
            "SELECT id, station_id, station_id, kind, level, level_m, rate_m_per_h, eta_next_s, next_level, at, "  # noqa: S608
            f"wards, text FROM alerts {clause} ORDER BY id DESC LIMIT ?",
            (*args, limit),
        )
        return [
            StoredAlert(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9], tuple(json.loads(r[10])), r[11])
            for r in rows
        ]

    def report_intervals(self) -> dict[int, int]:
        """The report interval central last told each sensor."""
        return dict(self._fetchall("SELECT node_id, report_interval_s FROM sensor_config"))

    def node_health(self) -> list[NodeHealth]:
        """The latest status of every node that reported one."""
        rows = self._fetchall(
            "SELECT node_id, boot_epoch, seq, node_ts, received_at, battery_pct, uptime_s, unsent, gateway, ward "
            "FROM node_status ORDER BY node_id"
        )
        return [NodeHealth(*r) for r in rows]

    def counter(self, name: str) -> int:
        """The value of a named counter (0 if never bumped)."""
        row = self._fetchone("SELECT value FROM counters WHERE name = ?", (name,))
        return int(row[0]) if row else 0

    def stats(self) -> Stats:
        """Totals for the dashboard; read in one snapshot so they agree with each other."""
        with self._reading() as conn:
            return self._stats(conn)

    def _stats(self, conn: Connection) -> Stats:
        conn.execute(self.dialect.begin_snapshot)
        try:
            readings = conn.execute("SELECT count(*) FROM readings").fetchone()[0]
            cases, open_cases = conn.execute(
                "SELECT count(*), coalesce(sum(CASE WHEN state IN ('registered', 'acknowledged', 'dispatched') "
                "THEN 1 ELSE 0 END), 0) FROM cases"
            ).fetchone()
            counters = dict(conn.execute("SELECT name, value FROM counters").fetchall())
            by_reason = dict(conn.execute("SELECT reason, count FROM rejections ORDER BY reason").fetchall())
            alerts = conn.execute("SELECT count(*) FROM alerts").fetchone()[0]
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
            flagged_by_reason={
                str(k).removeprefix(QC_COUNTER_PREFIX): int(v)
                for k, v in sorted(counters.items())
                if str(k).startswith(QC_COUNTER_PREFIX)
            },
            alerts=int(alerts),
            telemetry_dropped_by_reason={
                str(k).removeprefix(TELEMETRY_DROPPED_PREFIX): int(v)
                for k, v in sorted(counters.items())
                if str(k).startswith(TELEMETRY_DROPPED_PREFIX)
            },
            rules_evaluated=int(counters.get(RULES_EVALUATED, 0)),
            database_set_aside=None if self.set_aside is None else self.set_aside.describe(),
        )

    def close(self) -> None:
        """Close every connection this store opened (from any thread)."""
        with self._all_lock:
            for conn in self._all:
                conn.close()
            self._all.clear()
