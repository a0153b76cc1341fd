"""Central's PostgreSQL store reads through a bounded pool of connections (psycopg_pool), on a real server."""

import contextlib
import threading
from collections.abc import Iterator

import psycopg
import pytest

from central.store.postgres import APPLICATION_NAME, PostgresStore

pytestmark = pytest.mark.integration

POOL = 3
THREADS = 30
_CENTRALS = "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND application_name = ?"


@pytest.fixture
def pooled(postgres_url: str) -> Iterator[PostgresStore]:
    store = PostgresStore(postgres_url, pool_size=POOL)
    yield store
    store.close()


def _backends(url: str) -> int:
    with psycopg.connect(url) as admin:
        row = admin.execute(_CENTRALS.replace("?", "%s"), (APPLICATION_NAME,)).fetchone()
    return int(row[0]) if row else 0


def test_thirty_request_threads_share_a_pool_of_three_connections(pooled: PostgresStore, postgres_url: str) -> None:
    seen: list[int] = []
    errors: list[BaseException] = []
    start = threading.Barrier(THREADS)

    def request() -> None:
        try:
            start.wait(timeout=30)
            row = pooled.read_one(_CENTRALS, (APPLICATION_NAME,))  # as the API's threads read
            seen.append(int(row[0]) if row else -1)
            assert pooled.stats().readings_stored == 0
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=request) for _ in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert errors == []
    assert len(seen) == THREADS
    # Never more than the pool and the ingest's writer, during the burst and after it (a connection per
    # thread would leave thirty-one).
    assert max(seen) <= POOL + 1
    assert _backends(postgres_url) <= POOL + 1
    assert pooled.pool_stats()["requests_num"] >= 2 * THREADS


def test_reads_and_writes_go_on_after_the_server_drops_centrals_connections(
    pooled: PostgresStore, postgres_url: str
) -> None:
    assert pooled.counter("acks_sent") == 0
    with psycopg.connect(postgres_url, autocommit=True) as admin:
        killed = admin.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = current_database() "
            "AND application_name = %s AND pid <> pg_backend_pid() AND state = 'idle'", (APPLICATION_NAME,)
        ).fetchone()
    assert killed is not None
    assert killed[0] >= 1
    # The pool checks a connection before lending it: the API's next read reconnects instead of failing.
    assert pooled.counter("acks_sent") == 0
    assert pooled.stats().sos_cases == 0
    # The ingest's writer was dropped too: at most the batch in hand fails (gateways resend it), then it reconnects.
    with contextlib.suppress(psycopg.OperationalError):
        with pooled.transaction() as tx:
            tx.bump("after_drop")
    with pooled.transaction() as tx:
        tx.bump("after_drop")
    assert pooled.counter("after_drop") in (1, 2)
