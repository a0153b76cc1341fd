"""Open central's store: PostgreSQL when a database URL is configured, else the embedded SQLite file."""

from pathlib import Path

from central.store.base import CentralStore
from central.store.postgres import PostgresStore
from central.store.sqlite import SqliteStore


def open_store(db_path: Path, database_url: str | None = None, pool_size: int = 10) -> CentralStore:
    """The store central runs on: ``database_url`` (postgresql://...) if given, else SQLite at ``db_path``."""
    if database_url:
        return PostgresStore(database_url, pool_size)
    return SqliteStore(db_path)
