"""The gateway's durable store-and-forward outbox (SQLite, WAL, synchronous=FULL).

A frame taken from the radio is written here before anything else happens to it, and is forgotten
only when central's end-to-end acknowledgement names it: a broker PUBACK is not enough, because a
broker crash can lose what it acknowledged. SOS frames drain before telemetry.

A backhaul outage can last for days, so the outbox has a capacity. When it is full, telemetry is
thinned (every other stored reading goes, but never a node's latest one) so that the history keeps
its shape at a coarser step; an SOS or a cancel is never dropped, even past the capacity.

Durability (``lazy_sync``, what the gateway runs): an emergency is fsynced before ``add`` returns,
so it is durable before it is published or acknowledged to its button. Everything else — telemetry,
forgetting what central acknowledged, the ward's copy of central's case numbers — is committed
without an fsync of its own and made durable by ``OutboxFlusher`` (gateway/outbox_flusher.py) on
its own thread, within milliseconds; the worker never waits for it. Telemetry is
published only once durable (``durable_upto``), so nothing counted as sent can be lost to a power
cut. A WAL commit is durable with every commit before it (one file, appended in order), so an
emergency's fsync also makes whatever was committed lazily before it durable.

When the disk itself is full, telemetry is refused and thinned to make room for the emergencies;
what cannot be stored is refused (returned to the caller, never acknowledged to anyone), and
storing works again by itself as soon as there is space.
"""

import sqlite3
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from protocol.sqlite_integrity import set_aside_if_damaged

PRIORITY_EMERGENCY = 0
PRIORITY_TELEMETRY = 1
CASE_EVENTS = "case_events"  # a message holding the ward's case events (JSON), not a radio frame
EMERGENCY_KINDS = ("sos", "sos_cancel", CASE_EVENTS)
_SQLITE_FULL, _SQLITE_IOERR = 13, 10


def is_disk_full(exc: BaseException) -> bool:
    """Whether ``exc`` is SQLite saying the disk is full (or a write failed for want of space)."""
    if not isinstance(exc, sqlite3.OperationalError):
        return False
    code = getattr(exc, "sqlite_errorcode", None)
    if code is None:
        return "disk is full" in str(exc)
    return code & 0xFF in (_SQLITE_FULL, _SQLITE_IOERR)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    priority INTEGER NOT NULL,
    node_id INTEGER NOT NULL,
    kind TEXT NOT NULL,
    frame BLOB NOT NULL,
    received_at TEXT NOT NULL,
    rssi INTEGER,
    snr REAL
);
CREATE INDEX IF NOT EXISTS outbox_drain ON outbox (priority, id);
CREATE TABLE IF NOT EXISTS node_seen (
    node_id INTEGER PRIMARY KEY,
    boot INTEGER NOT NULL,
    seq INTEGER NOT NULL
);
"""


@dataclass(frozen=True)
class InboundFrame:
    """A verified frame about to be stored."""

    node_id: int
    kind: str
    frame: bytes
    received_at: str
    rssi: int | None = None
    snr: float | None = None

    @property
    def priority(self) -> int:
        """Emergencies first: an SOS, its cancel, or the ward's case history never waits behind telemetry."""
        return PRIORITY_EMERGENCY if self.kind in EMERGENCY_KINDS else PRIORITY_TELEMETRY


@dataclass(frozen=True)
class OutboxMessage:
    """A stored frame with its outbox id (the ``msg_id`` central acknowledges)."""

    msg_id: int
    priority: int
    node_id: int
    kind: str
    frame: bytes
    received_at: str
    rssi: int | None
    snr: float | None


class Outbox:
    """Durable queue of frames waiting for central's acknowledgement."""

    def __init__(self, path: Path, capacity: int | None = None, lazy_sync: bool = False) -> None:
        self.path = path
        self.capacity = capacity
        self.thinned = 0
        self.disk_full = 0  # times a write found the disk full
        # A damaged outbox is moved away before anything opens it: the gateway goes on with a fresh one.
        self.set_aside = set_aside_if_damaged(path, "gateway outbox")
        # The outbox is used by the gateway's single worker thread; created elsewhere, used there.
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(_SCHEMA)
        self._count = int(self._db.execute("SELECT COUNT(*) FROM outbox").fetchone()[0])
        # What is committed and what of it is durable, shared with the flusher's thread.
        self._sync = threading.Condition()
        self._committed = self._durable = int(self._db.execute("SELECT COALESCE(MAX(id), 0) FROM outbox").fetchone()[0])
        self._lazy_commits = self._synced_commits = 0
        self.lazy_sync = lazy_sync
        if lazy_sync:
            # The flusher checkpoints: a checkpoint run inside a commit would hold up the SOS that made it.
            self._db.execute("PRAGMA wal_autocheckpoint=0")

    @property
    def durable_upto(self) -> int:
        """Every message with an id up to this one is on disk for good (fsynced)."""
        with self._sync:
            return self._durable

    def unsynced(self) -> tuple[int, int]:
        """(highest id committed, how many lazy commits so far): what a sync starting now covers."""
        with self._sync:
            return self._committed, self._lazy_commits

    def wait_unsynced(self, timeout_s: float) -> bool:
        """Block until something committed is not yet durable (True), or ``timeout_s`` passes."""
        with self._sync:
            return self._sync.wait_for(lambda: self._lazy_commits != self._synced_commits, timeout=timeout_s)

    def synced(self, upto: int, lazy_commits: int) -> None:
        """The flusher made every commit up to id ``upto`` and the first ``lazy_commits`` lazy ones durable."""
        with self._sync:
            self._durable = max(self._durable, upto)
            self._synced_commits = max(self._synced_commits, lazy_commits)

    def _after_commit(self, durable: bool, newest_id: int) -> None:
        with self._sync:
            self._committed = max(self._committed, newest_id)
            if durable:  # an fsync of the WAL covers every commit before it
                self._durable, self._synced_commits = self._committed, self._lazy_commits
            else:
                self._lazy_commits += 1
                self._sync.notify_all()

    def ensure_schema(self, script: str) -> None:
        """Create tables kept beside the outbox (outside any transaction: executescript commits)."""
        self._db.executescript(script)

    @contextmanager
    def transaction(self, durable: bool = True) -> Iterator[sqlite3.Connection]:
        """One transaction, durable (fsynced) when it returns unless ``durable`` is False and the outbox
        syncs lazily; other tables kept beside the outbox (the ward's local cases) are written in it
        too, so a case and the events announcing it exist together or not at all."""
        durable = durable or not self.lazy_sync
        # The level applies to the commits that follow (set outside a transaction, as SQLite needs).
        self._db.execute(f"PRAGMA synchronous={'FULL' if durable else 'NORMAL'}")
        before = self._db.total_changes
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield self._db
            while self.capacity is not None and self._count > self.capacity and self._thin():
                pass
            changed = self._db.total_changes != before  # a commit that wrote nothing syncs nothing either
            newest = int(self._db.execute("SELECT COALESCE(MAX(id), 0) FROM outbox").fetchone()[0])
            self._db.execute("COMMIT")
            if changed:
                self._after_commit(durable, newest)
        except BaseException:
            if self._db.in_transaction:  # SQLite may have rolled back itself (a full disk at COMMIT)
                self._db.execute("ROLLBACK")
            self._count = int(self._db.execute("SELECT COUNT(*) FROM outbox").fetchone()[0])
            raise

    def insert(self, db: sqlite3.Connection, f: InboundFrame) -> OutboxMessage:
        """Add one message inside ``transaction()``."""
        cur = db.execute(
            "INSERT INTO outbox (priority, node_id, kind, frame, received_at, rssi, snr) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (f.priority, f.node_id, f.kind, f.frame, f.received_at, f.rssi, f.snr),
        )
        self._count += 1
        return OutboxMessage(int(cur.lastrowid or 0), f.priority, f.node_id, f.kind, f.frame, f.received_at, f.rssi,
                             f.snr)

    def add(
        self, frames: Sequence[InboundFrame], seen: Iterable[tuple[int, int, int]] = ()
    ) -> list[OutboxMessage]:
        """Store frames durably in one transaction, with the newest (node, boot, seq) seen by then,
        so that a restarted gateway still tells replays from new frames; returns the stored frames."""
        # An emergency is fsynced before it may be published or acknowledged; telemetry is not worth
        # holding the worker for: the flusher syncs it before it is published.
        durable = any(f.priority == PRIORITY_EMERGENCY for f in frames)
        with self.transaction(durable) as db:
            db.executemany("INSERT OR REPLACE INTO node_seen (node_id, boot, seq) VALUES (?, ?, ?)", seen)
            return [self.insert(db, f) for f in frames]

    def add_making_room(
        self, frames: Sequence[InboundFrame], seen: Iterable[tuple[int, int, int]] = ()
    ) -> tuple[list[OutboxMessage], list[InboundFrame]]:
        """``add``, except on a full disk: then telemetry is refused and thinned so that the emergencies
        fit; returns (stored, refused). Raises only for errors other than a full disk."""
        try:
            return self.add(frames, seen), []
        except sqlite3.OperationalError as exc:
            if not is_disk_full(exc):
                raise
        self.disk_full += 1
        urgent = [f for f in frames if f.priority == PRIORITY_EMERGENCY]
        if not urgent:
            return [], list(frames)
        try:
            with self.transaction():
                self._thin()  # pages freed in the file are reused by the emergencies
            stored = self.add(urgent, seen)
        except sqlite3.OperationalError as exc:
            if not is_disk_full(exc):
                raise
            return [], list(frames)
        return stored, [f for f in frames if f.priority != PRIORITY_EMERGENCY]

    def _thin(self) -> int:
        """Drop every other stored reading, keeping each node's latest; returns how many went."""
        before = self._db.total_changes
        self._db.execute(
            "DELETE FROM outbox WHERE id IN ("
            " SELECT id FROM (SELECT id, ROW_NUMBER() OVER (ORDER BY id) AS rn FROM outbox WHERE priority = ?)"
            " WHERE rn % 2 = 1)"
            " AND id NOT IN (SELECT MAX(id) FROM outbox WHERE priority = ? GROUP BY node_id)",
            (PRIORITY_TELEMETRY, PRIORITY_TELEMETRY),
        )
        removed = self._db.total_changes - before
        self._count -= removed
        self.thinned += removed
        return removed

    def pending(self, priority: int, after_id: int, limit: int, upto: int | None = None) -> list[OutboxMessage]:
        """Up to ``limit`` stored messages of one priority with ``after_id`` < id <= ``upto``, oldest first."""
        rows = self._db.execute(
            "SELECT id, priority, node_id, kind, frame, received_at, rssi, snr FROM outbox"
            " WHERE priority = ? AND id > ? AND id <= ? ORDER BY id LIMIT ?",
            (priority, after_id, 2**63 - 1 if upto is None else upto, limit),
        ).fetchall()
        return [OutboxMessage(*row) for row in rows]

    def forget(self, msg_ids: Iterable[int]) -> int:
        """Delete acknowledged messages; returns how many were still there.

        Not durable at once under ``lazy_sync``: a forget lost to a power cut only sends the message
        again, and central, which dedupes on the frame's identity, acknowledges it again."""
        ids = [(i,) for i in msg_ids]
        if not ids:
            return 0
        with self.transaction(durable=False) as db:
            before = db.total_changes
            db.executemany("DELETE FROM outbox WHERE id = ?", ids)
            removed = db.total_changes - before
        self._count -= removed
        return removed

    def seen(self) -> list[tuple[int, int, int]]:
        """The newest (node, boot, seq) stored for every node."""
        return [(int(n), int(b), int(q)) for n, b, q in self._db.execute("SELECT node_id, boot, seq FROM node_seen")]

    def count(self) -> int:
        """Messages still waiting for acknowledgement."""
        return self._count

    def close(self) -> None:
        """Close the database."""
        self._db.close()
