"""CentralStore: durability settings, boot epochs, atomic batches, readers not blocked by a writer."""

import threading
import time
from pathlib import Path

import pytest

from central.store.records import Reading
from central.store.sqlite import CentralStore


def reading(seq: int, level: float = 1.0) -> Reading:
    return Reading(1, 1, seq, "kim_long", 100 + seq, f"2025-11-15T12:00:{seq:02d}.000+00:00", 7000, level, 90, 0)


@pytest.mark.unit
def test_wal_and_full_sync(store: CentralStore) -> None:
    conn = store._reader()
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL


@pytest.mark.unit
def test_boot_epoch_survives_reopen(tmp_path: Path) -> None:
    path = tmp_path / "c.sqlite"
    first = CentralStore(path)
    assert [first.next_boot_epoch(), first.next_boot_epoch()] == [1, 2]
    first.close()
    again = CentralStore(path)
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
        started = time.monotonic()
        reader = threading.Thread(target=lambda: seen.append(store.stats().readings_stored))
        reader.start()
        reader.join(5)
        elapsed = time.monotonic() - started
    assert seen == [1]  # the last committed state, not the batch in progress
    assert elapsed < 1.0
    assert store.stats().readings_stored == 2
