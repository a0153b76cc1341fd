"""CentralStore on PostgreSQL (psycopg 3), used when central is given a database URL.

The store's SQL is written once with ``?`` placeholders; ``_PgConnection`` turns them into psycopg's
``%s`` and drives the connection in autocommit mode, so BEGIN/COMMIT are the store's own, as on SQLite.
"""

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg.pq import TransactionStatus
from psycopg_pool import ConnectionPool

from central.store.base import Connection, Cursor, Dialect
from central.store.schema import postgres_schema, to_postgres
from central.store.sql import SqlStore

POSTGRES = Dialect(
    name="postgres",
    begin_write="BEGIN",
    begin_snapshot="BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
    stored_order="stored_order",
    epoch_seconds="CAST(floor(extract(epoch FROM CAST({} AS timestamptz))) AS BIGINT)",
)
APPLICATION_NAME = "floodmesh-central"  # in pg_stat_activity: which backends are central's
_SCHEMA_LOCK = 0x666C6D  # pg_advisory_xact_lock key: two centrals starting at once create the schema once


def placeholders(sql: str) -> str:
    """The store's ``?`` placeholders as psycopg's ``%s`` (a literal ``%`` doubled)."""
    return sql.replace("%", "%%").replace("?", "%s")


class _PgConnection:
    """A psycopg connection speaking the store's SQL."""

    def __init__(self, conn: psycopg.Connection[Any]) -> None:
        self.raw = conn

    def execute(self, sql: str, args: Sequence[Any] = (), /) -> Cursor:
        return self.raw.execute(placeholders(sql), tuple(args))

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]], /) -> object:
        with self.raw.cursor() as cur:  # psycopg pipelines the rows: one round trip, not one per row
            cur.executemany(placeholders(sql), [tuple(r) for r in rows])
        return None

    def close(self) -> None:
        self.raw.close()


class PostgresStore(SqlStore):
    """Central's state in a PostgreSQL database; the schema is created (or completed) on open.

    The ingest writes on one connection of its own (one writer, as on SQLite). Reads - the API's
    threads, the dashboard's feeds - borrow from a pool of at most ``pool_size`` connections, checked
    before use, so a server restart or a dropped connection costs a reconnect, not a failed request,
    and many replicas' request threads do not each hold a PostgreSQL backend.
    """

    def __init__(self, url: str, pool_size: int = 10) -> None:
        super().__init__(POSTGRES)
        self._url = url
        self._pool = ConnectionPool(
            url, min_size=1, max_size=pool_size, kwargs={"autocommit": True, "application_name": APPLICATION_NAME},
            check=ConnectionPool.check_connection, name="floodmesh-central-reads", open=True, timeout=30.0,
        )
        writer = self._pg_writer = self._track(self._pg_open())
        self._writer = writer
        with writer.raw.transaction():
            writer.raw.execute("SELECT pg_advisory_xact_lock(%s)", (_SCHEMA_LOCK,))
            writer.raw.execute(postgres_schema())  # several statements: allowed without parameters
            self._migrate_versions(lambda ddl: writer.raw.execute(to_postgres(ddl)))

    @contextmanager
    def _reading(self) -> Iterator[Connection]:
        with self._pool.connection() as conn:
            yield _PgConnection(conn)

    def pool_stats(self) -> dict[str, int]:
        """The read pool's figures (psycopg_pool's names: pool_size, pool_available, requests_num, ...)."""
        return self._pool.get_stats()

    def close(self) -> None:
        """Close the writer and the read pool."""
        super().close()
        self._pool.close()

    def _pg_open(self) -> _PgConnection:
        return _PgConnection(psycopg.connect(self._url, autocommit=True, application_name=APPLICATION_NAME))

    def _open(self) -> Connection:
        return self._pg_open()

    def _usable_writer(self) -> Connection:
        # A server restart or a dropped connection fails the batch in hand (the gateways resend it); the
        # next batch gets a new connection instead of failing for as long as central runs.
        if self._pg_writer.raw.broken or self._pg_writer.raw.closed:
            self._pg_writer = self._track(self._pg_open())
        return self._pg_writer

    def checkpoint(self) -> None:
        """Nothing to do: the PostgreSQL server checkpoints on its own, outside any of central's commits."""

    def _commit(self, conn: Connection) -> None:
        # On PostgreSQL a failed statement aborts the transaction and COMMIT then quietly rolls back:
        # say so instead of losing the batch without a word.
        if self._pg_writer.raw.info.transaction_status == TransactionStatus.INERROR:
            conn.execute("ROLLBACK")
            raise RuntimeError("the transaction was aborted by a failed statement; nothing was stored")
        conn.execute("COMMIT")
