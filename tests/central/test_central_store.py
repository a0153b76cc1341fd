"""CentralStore on both backends: boot epochs, atomic batches, savepoints, readers not blocked by a writer."""

import contextlib
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from central.store.base import CentralStore
from central.store.connect import open_store
from central.store.postgres import placeholders
from central.store.records import NewCase, Reading, StoredEvent
from central.store.sqlite import SqliteStore
from central.store.transaction import StoreTx


def reading(seq: int, level: float = 1.0) -> Reading:
    return Reading(1, 1, seq, "kim_long", 100 + seq, f"2025-11-15T12:00:{seq:02d}.000+00:00", 7000, level, 90, 0)


def new_case(seq: int) -> NewCase:
    at = "2025-11-15T12:00:00.000+00:00"
    return NewCase(0x0B000042, 1, seq, "19774", "Kim Long", "UBND", 1, 2, 0, 16.4, 107.5, "gps", at, at, "gw",
                   case_ref=f"sos:0b000042:1:{seq}")


def stored_event(case_number: int, event_id: str) -> StoredEvent:
    at = "2025-11-15T12:00:00.000+00:00"
    return StoredEvent(case_number, event_id, f"sos:0b000042:1:{case_number}", "note", at, "test", "{}", at)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.integration)])
def reopen(request: pytest.FixtureRequest, tmp_path: Path) -> Callable[[], CentralStore]:
    """Opens a store on the same database each time it is called (a restart of central)."""
    url = request.getfixturevalue("postgres_url") if request.param == "postgres" else None
    return lambda: open_store(tmp_path / "c.sqlite", url)


@pytest.mark.unit
def test_sqlite_wal_and_full_sync(sqlite_store: SqliteStore) -> None:
    conn = sqlite_store._reader()
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL


def _write_mib(store: CentralStore, mib: int, tag: str) -> None:
    for t in range(mib * 16):  # 64 KiB per commit, as telemetry batches come
        with store.transaction() as tx:
            for i in range(16):
                tx.execute("INSERT INTO meta (key, value) VALUES (?, ?)", (f"{tag}-{t}-{i}", "x" * 4096))


@pytest.mark.unit
def test_no_commit_checkpoints_the_wal_the_ingest_does_it_between_batches(
    sqlite_store: SqliteStore, tmp_path: Path
) -> None:
    # SQLite would checkpoint inside whichever commit crosses 1,000 WAL pages (4 MiB) - an SOS's too.
    wal = tmp_path / "central.sqlite-wal"
    _write_mib(sqlite_store, 6, "a")
    grown = wal.stat().st_size
    assert grown > 6 * 1024 * 1024  # six MiB of commits, none of them checkpointed
    sqlite_store.checkpoint()  # what the ingest worker calls when no SOS waits
    _write_mib(sqlite_store, 2, "b")
    assert wal.stat().st_size == grown  # the WAL was moved into the database: new commits reuse it from the start


@pytest.mark.unit
def test_boot_epoch_survives_reopen(reopen: Callable[[], CentralStore]) -> None:
    first = reopen()
    assert [first.next_boot_epoch(), first.next_boot_epoch()] == [1, 2]
    first.close()
    again = reopen()  # the schema is there already: opening again changes nothing
    assert again.next_boot_epoch() == 3
    again.close()


@pytest.mark.unit
def test_reading_stored_once_newest_first(store: CentralStore) -> None:
    with store.transaction() as tx:
        assert tx.insert_reading(reading(1))
        assert tx.insert_reading(reading(2, 2.5))
        assert not tx.insert_reading(reading(1))
    assert [r.seq for r in store.readings("kim_long", 10)] == [2, 1]
    assert store.readings("kim_long", 1)[0].level_m == 2.5
    assert store.stats().readings_stored == 2


@pytest.mark.unit
def test_failed_batch_leaves_nothing_behind(store: CentralStore) -> None:
    def crashing_batch() -> None:
        with store.transaction() as tx:
            tx.insert_reading(reading(1))
            tx.count_rejection("bad_tag")
            raise RuntimeError("crash mid-batch")

    with pytest.raises(RuntimeError, match="crash mid-batch"):
        crashing_batch()
    stats = store.stats()
    assert (stats.readings_stored, stats.rejected) == (0, 0)


@pytest.mark.unit
def test_counters_and_rejections_add_up(store: CentralStore) -> None:
    with store.transaction() as tx:
        tx.bump("acks_sent")
        tx.bump("acks_sent", 2)
        tx.count_rejection("bad_tag")
        tx.count_rejection("bad_tag")
        tx.count_rejection("unknown_node")
    stats = store.stats()
    assert (stats.acks_sent, stats.rejected) == (3, 3)
    assert stats.rejected_by_reason == {"bad_tag": 2, "unknown_node": 1}


@pytest.mark.unit
def test_reader_in_another_thread_is_not_blocked_by_an_open_write(store: CentralStore) -> None:
    with store.transaction() as tx:
        tx.insert_reading(reading(1))
    seen: list[int] = []
    with store.transaction() as tx:
        tx.insert_reading(reading(2))  # uncommitted while the reader runs
        reader = threading.Thread(target=lambda: seen.append(store.stats().readings_stored))
        reader.start()
        reader.join(10)
        blocked = reader.is_alive()
    assert not blocked
    assert seen == [1]  # the last committed state, not the batch in progress
    assert store.stats().readings_stored == 2


@pytest.mark.unit
def test_a_failed_uplink_is_undone_and_the_batch_goes_on(store: CentralStore) -> None:
    # On PostgreSQL a failed statement aborts the transaction: the savepoint is what lets the batch go on.
    def failing_uplink(tx: StoreTx) -> None:
        with tx.savepoint():
            tx.bump("duplicates")
            tx.execute("INSERT INTO rejections (reason, count) VALUES (?, NULL)", ("bad_tag",))

    with store.transaction() as tx:
        tx.insert_reading(reading(1))
        with pytest.raises(Exception, match=r"(?i)not[ -]null"):
            failing_uplink(tx)
        tx.insert_reading(reading(2))
    assert [r.seq for r in store.readings("kim_long", 10)] == [2, 1]
    assert (store.counter("duplicates"), store.stats().rejected) == (0, 0)


@pytest.mark.unit
def test_ids_and_event_order_are_the_order_of_storing(store: CentralStore) -> None:
    with store.transaction() as tx:
        first, second = tx.insert_case(new_case(seq=1)), tx.insert_case(new_case(seq=2))
        for event_id in ("z", "a", "m"):  # neither id order nor time order: the order they came in
            assert tx.add_event(stored_event(second, event_id))
        assert not tx.add_event(stored_event(second, "a"))  # merged by id
    assert (first, second) == (1, 2)
    assert [e.event_id for e in store.case_events(second)] == ["z", "a", "m"]


@pytest.mark.unit
def test_levels_are_downsampled_into_whole_buckets(store: CentralStore) -> None:
    with store.transaction() as tx:
        for seq, at, level in ((1, "12:00:59.999", 1.0), (2, "12:01:00.000", 2.0), (3, "12:01:59.600", 4.0)):
            tx.insert_reading(Reading(1, 1, seq, "kim_long", seq, f"2025-11-15T{at}+00:00", 7000, level, 90, 0,
                                      qc_flag=1, level_at=f"2025-11-15T{at}+00:00"))
    buckets = store.levels_downsampled("kim_long", "2025-11-15T00:00:00.000+00:00", "2025-11-16T00:00:00.000+00:00", 60)
    assert buckets == [("2025-11-15T12:00:00.000+00:00", 1.0, 1.0, 1.0, 1),
                       ("2025-11-15T12:01:00.000+00:00", 3.0, 2.0, 4.0, 2)]


@pytest.mark.integration
def test_postgres_refuses_to_commit_an_aborted_transaction(postgres_url: str) -> None:
    def swallowing_batch(store: CentralStore) -> None:
        with store.transaction() as tx:
            tx.bump("acks_sent")
            with contextlib.suppress(Exception):  # a caller that swallows a failed statement
                tx.execute("SELECT no_such_column FROM counters")

    store = open_store(Path("unused.sqlite"), postgres_url)
    try:
        with pytest.raises(RuntimeError, match="aborted"):
            swallowing_batch(store)
        assert store.counter("acks_sent") == 0
        with store.transaction() as tx:  # the store is usable again
            tx.bump("acks_sent")
        assert store.counter("acks_sent") == 1
    finally:
        store.close()


@pytest.mark.unit
def test_placeholders_for_psycopg() -> None:
    assert placeholders("SELECT ? WHERE x LIKE '5%'") == "SELECT %s WHERE x LIKE '5%%'"


@pytest.mark.integration
def test_postgres_has_the_sqlite_columns(sqlite_store: SqliteStore, postgres_url: str) -> None:
    pg = open_store(Path("unused.sqlite"), postgres_url)
    try:
        pg_columns = set(pg.read_all(
            "SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = 'public'"))
    finally:
        pg.close()
    tables = [r[0] for r in sqlite_store.read_all("SELECT name FROM sqlite_master WHERE type = 'table'")]
    sqlite_columns = {(t, r[1]) for t in tables for r in sqlite_store.read_all(f"PRAGMA table_info({t})")}
    assert pg_columns - sqlite_columns == {("case_events", "stored_order")}
    assert sqlite_columns - pg_columns == {("sqlite_sequence", "name"), ("sqlite_sequence", "seq")}
