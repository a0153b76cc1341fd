"""The gateway's durable store-and-forward outbox (SQLite, WAL, synchronous=FULL).

A frame taken from the radio is written here before anything else happens to it, and is forgotten
only when central's end-to-end acknowledgement names it: a broker PUBACK is not enough, because a
broker crash can lose what it acknowledged. SOS frames drain before telemetry.
"""

import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

PRIORITY_EMERGENCY = 0
PRIORITY_TELEMETRY = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    priority INTEGER NOT NULL,
    kind TEXT NOT NULL,
    frame BLOB NOT NULL,
    received_at TEXT NOT NULL,
    rssi INTEGER,
    snr REAL
);
CREATE INDEX IF NOT EXISTS outbox_drain ON outbox (priority, id);
"""


@dataclass(frozen=True)
class InboundFrame:
    """A verified frame about to be stored."""

    kind: str
    frame: bytes
    received_at: str
    rssi: int | None = None
    snr: float | None = None

    @property
    def priority(self) -> int:
        """Emergencies first: an SOS (or its cancel) must never wait behind telemetry."""
        return PRIORITY_EMERGENCY if self.kind in ("sos", "sos_cancel") else PRIORITY_TELEMETRY


@dataclass(frozen=True)
class OutboxMessage:
    """A stored frame with its outbox id (the ``msg_id`` central acknowledges)."""

    msg_id: int
    priority: int
    kind: str
    frame: bytes
    received_at: str
    rssi: int | None
    snr: float | None


class Outbox:
    """Durable queue of frames waiting for central's acknowledgement."""

    def __init__(self, path: Path) -> None:
        self.path = path
        # The outbox is used by the gateway's single worker thread; created elsewhere, used there.
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(_SCHEMA)

    def add(self, frames: Sequence[InboundFrame]) -> list[OutboxMessage]:
        """Store frames durably in one transaction; returns them with their ids."""
        out: list[OutboxMessage] = []
        self._db.execute("BEGIN IMMEDIATE")
        try:
            for f in frames:
                cur = self._db.execute(
                    "INSERT INTO outbox (priority, kind, frame, received_at, rssi, snr) VALUES (?, ?, ?, ?, ?, ?)",
                    (f.priority, f.kind, f.frame, f.received_at, f.rssi, f.snr),
                )
                msg_id = int(cur.lastrowid or 0)
                out.append(OutboxMessage(msg_id, f.priority, f.kind, f.frame, f.received_at, f.rssi, f.snr))
            self._db.execute("COMMIT")
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        return out

    def pending(self, priority: int, after_id: int, limit: int) -> list[OutboxMessage]:
        """Up to ``limit`` stored messages of one priority with id > ``after_id``, oldest first."""
        rows = self._db.execute(
            "SELECT id, priority, kind, frame, received_at, rssi, snr FROM outbox"
            " WHERE priority = ? AND id > ? ORDER BY id LIMIT ?",
            (priority, after_id, limit),
        ).fetchall()
        return [OutboxMessage(*row) for row in rows]

    def forget(self, msg_ids: Iterable[int]) -> int:
        """Delete acknowledged messages; returns how many were still there."""
        ids = [(i,) for i in msg_ids]
        if not ids:
            return 0
        self._db.execute("BEGIN IMMEDIATE")
        try:
            before = self._db.total_changes
            self._db.executemany("DELETE FROM outbox WHERE id = ?", ids)
            removed = self._db.total_changes - before
            self._db.execute("COMMIT")
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        return removed

    def count(self) -> int:
        """Messages still waiting for acknowledgement."""
        return int(self._db.execute("SELECT COUNT(*) FROM outbox").fetchone()[0])

    def close(self) -> None:
        """Close the database."""
        self._db.close()
