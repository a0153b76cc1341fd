"""TelemetryStore on SQLite (the embedded default): one ``levels`` row per (station, node, sensor time)."""

import sqlite3
import threading
from collections.abc import Sequence
from pathlib import Path

from central.store.telemetry import LevelPoint

_SCHEMA = """
CREATE TABLE IF NOT EXISTS levels (
    station_id TEXT NOT NULL,
    node_id INTEGER NOT NULL,
    t INTEGER NOT NULL,
    river TEXT NOT NULL,
    ward TEXT NOT NULL,
    level_m REAL,
    distance_mm INTEGER NOT NULL,
    battery_pct INTEGER NOT NULL,
    qc_flag INTEGER NOT NULL,
    alert_rank INTEGER NOT NULL,
    PRIMARY KEY (station_id, t, node_id)
) WITHOUT ROWID;
"""


_ROWS_PER_TRANSACTION = 500  # the levels copy holds SQLite's one write lock (central's too) a few ms at a time


class SqliteTelemetryStore:
    """Levels in a SQLite file (it may be central's own database: the table is separate)."""

    name = "sqlite"

    def __init__(self, path: Path) -> None:
        self._lock = threading.Lock()
        self._conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=30.0)
        self._conn.execute("PRAGMA journal_mode=WAL")
        # The levels are a copy (central's readings table is the durable record, committed with FULL sync):
        # their commits need no fsync of their own, which in central's own file would queue with an SOS's.
        self._conn.execute("PRAGMA synchronous=NORMAL")
        self._conn.executescript(_SCHEMA)

    def write(self, points: Sequence[LevelPoint]) -> None:
        """Upsert a batch, a few hundred rows per transaction (a retried batch just replaces them again)."""
        rows = [
            (p.station_id, p.node_id, p.t, p.river, p.ward, p.level_m, p.distance_mm, p.battery_pct, p.qc_flag,
             p.alert_rank)
            for p in points
        ]
        with self._lock:
            for start in range(0, len(rows), _ROWS_PER_TRANSACTION):
                self._write_rows(rows[start : start + _ROWS_PER_TRANSACTION])

    def _write_rows(self, rows: Sequence[tuple[object, ...]]) -> None:
        self._conn.execute("BEGIN IMMEDIATE")
        try:
            self._conn.executemany("INSERT OR REPLACE INTO levels VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
        except BaseException:
            self._conn.execute("ROLLBACK")
            raise
        self._conn.execute("COMMIT")

    def count(self, station_id: str) -> int:
        """How many points a station has (tests, benchmarks)."""
        with self._lock:
            row = self._conn.execute("SELECT count(*) FROM levels WHERE station_id = ?", (station_id,)).fetchone()
        return int(row[0])

    def close(self) -> None:
        """Close the connection."""
        with self._lock:
            self._conn.close()
