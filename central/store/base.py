"""The store interface the rest of central uses, and the little its SQL backends need from a database.

Two backends implement it, like httpx transports: ``sqlite`` (embedded, the default) and ``postgres``
(when a database URL is configured). They run the same SQL, written with ``?`` placeholders in the
dialect both accept (``ON CONFLICT``, ``RETURNING``, savepoints); what differs is kept in a ``Dialect``.
"""

from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from central.store.records import Case, NodeHealth, Reading, Stats, StoredAlert, StoredEvent

if TYPE_CHECKING:
    from central.store.transaction import StoreTx

QC_COUNTER_PREFIX = "qc:"
"""Counters named ``qc:<reason>`` count readings flagged (not refused) for that reason."""
TELEMETRY_DROPPED_PREFIX = "telemetry_dropped:"
"""Counters named ``telemetry_dropped:<reason>`` count points the time-series store never received."""
RULES_EVALUATED = "rules_evaluated"
"""The counter of quality-passed readings the flood rules ran on."""


class Cursor(Protocol):
    """What a statement hands back (sqlite3 and psycopg cursors both fit)."""

    @property
    def rowcount(self) -> int:
        """Rows the statement changed."""

    def fetchone(self) -> Any:
        """The next row, or None."""

    def fetchall(self) -> Sequence[Any]:
        """Every remaining row."""

    def __iter__(self) -> Iterator[Any]:
        """The remaining rows one by one."""


class Connection(Protocol):
    """One database connection, as the store drives it: explicit BEGIN/COMMIT, ``?`` placeholders."""

    def execute(self, sql: str, args: Sequence[Any] = ..., /) -> Cursor:
        """Run one statement with bound values."""

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]], /) -> object:
        """Run one statement once per row of bound values."""

    def close(self) -> None:
        """Close the connection."""


@dataclass(frozen=True)
class Dialect:
    """The SQL that differs between the backends."""

    name: str
    begin_write: str
    """Starts the one write transaction (SQLite takes its write lock at once: IMMEDIATE)."""
    begin_snapshot: str
    """Starts a read-only transaction whose reads all see one committed state."""
    stored_order: str
    """The column that orders case events as central stored them."""
    epoch_seconds: str
    """SQL giving the whole unix seconds of an ISO 8601 text column, with ``{}`` for the column."""


Change = tuple[str, str]
"""What a committed write changed, for live views: ("case", case number), ("alert", station), ("level", station),
("gateway", "<ward>/<gateway>")."""
CommitObserver = Callable[[frozenset[Change]], None]
"""Called after a commit with what it changed (on the committing thread: it must only hand the news on)."""


class CentralStore(Protocol):
    """Durable state of central; safe to share between the ingest thread and API threads."""

    on_commit: list[CommitObserver]
    """Observers told what each committed transaction changed (the dashboard's live feed)."""

    @property
    def dialect(self) -> Dialect:
        """The backend's SQL dialect."""

    def transaction(self) -> AbstractContextManager["StoreTx"]:
        """One write transaction: committed (durably) on exit, rolled back on an exception."""

    def next_boot_epoch(self) -> int:
        """Increment and return central's boot epoch (u16, never 0) for its downlink frames."""

    def checkpoint(self) -> None:
        """Upkeep the backend does between transactions, at a moment the caller chooses (SQLite: its WAL)."""

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

    def case(self, case_number: int) -> Case | None:
        """One case by number."""

    def case_events(self, case_number: int) -> list[StoredEvent]:
        """A case's events in the order central stored them."""

    def read_one(self, sql: str, args: tuple[object, ...] = ()) -> tuple[Any, ...] | None:
        """One row of a constant query with bound values (modules with their own tables, e.g. users)."""

    def read_all(self, sql: str, args: tuple[object, ...] = ()) -> list[tuple[Any, ...]]:
        """Every row of a constant query with bound values."""

    def directories(self) -> list[str]:
        """Every ward's directory (WardDirectory JSON), by ward code."""

    def directory(self, ward: str) -> str | None:
        """One ward's directory JSON, if it has one."""

    def readings(self, station_id: str, limit: int) -> list[Reading]:
        """A station's most recent readings, newest first."""

    def readings_between(self, station_id: str, since: str, until: str, limit: int) -> list[Reading]:
        """A station's readings with level time in [since, until), oldest first."""

    def levels_downsampled(
        self, station_id: str, since: str, until: str, bucket_s: int
    ) -> list[tuple[str, float, float, float, int]]:
        """(bucket start, mean, min, max, n) of quality-passed levels per ``bucket_s`` bucket, oldest first."""

    def alerts(self, station_id: str | None = None, limit: int = 500) -> list[StoredAlert]:
        """Alert events newest first, optionally of one station."""

    def report_intervals(self) -> dict[int, int]:
        """The report interval central last told each sensor."""

    def node_health(self) -> list[NodeHealth]:
        """The latest status of every node that reported one."""

    def counter(self, name: str) -> int:
        """The value of a named counter (0 if never bumped)."""

    def stats(self) -> Stats:
        """Totals for the dashboard; read in one snapshot so they agree with each other."""

    def close(self) -> None:
        """Close every connection this store opened (from any thread)."""
