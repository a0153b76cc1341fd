"""Makes the outbox's lazy commits durable on a thread of its own, so the gateway's worker never waits.

Under ``Outbox(lazy_sync=True)`` only emergencies are fsynced in the worker's commit. Telemetry,
forgotten messages and the ward's copy of central's case numbers are committed without an fsync;
this thread then fsyncs the outbox's write-ahead log, which is exactly what SQLite's own
``synchronous=FULL`` commit does (WAL mode: a commit is durable once the ``-wal`` file holding its
frames is synced; the file is appended in commit order, so one sync covers every commit before it).
An SOS arriving meanwhile is committed and fsynced by the worker at once, never behind a telemetry
sync.

The flusher also checkpoints, passively (no writer waits), every ``checkpoint_interval_s``: the
outbox's own checkpoints would run inside whichever commit crossed SQLite's threshold, an SOS's as
likely as any. Checkpointing after every sync would be worse still: the first commit after a complete
checkpoint restarts the log and syncs its header, a second fsync on that commit's path (measured:
two ``fdatasync`` per SOS when this thread checkpointed after each sync).
"""

import logging
import os
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path

from gateway.outbox import Outbox

log = logging.getLogger(__name__)


class OutboxFlusher:
    """Syncs what the outbox committed lazily, and says so through ``on_durable``."""

    RETRY_S = 0.05  # after a failed sync: try again soon

    def __init__(
        self, outbox: Outbox, on_durable: Callable[[], None], name: str = "outbox-flusher",
        checkpoint_interval_s: float = 10.0, clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._outbox = outbox
        self._on_durable = on_durable
        self._wal = Path(f"{outbox.path}-wal")  # SQLite's name for a database's write-ahead log
        self._checkpoint_interval_s = checkpoint_interval_s
        self._clock = clock
        self._last_checkpoint = clock()
        # Its own connection keeps the log open (SQLite removes it when the last connection closes).
        self._db = sqlite3.connect(outbox.path, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA synchronous=FULL")  # a checkpoint syncs the log, then the database file
        self._closing = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self.syncs = 0
        self.checkpoints = 0
        self.failures = 0

    def start(self) -> None:
        """Start syncing in the background."""
        self._thread.start()

    def close(self, timeout_s: float = 5.0) -> None:
        """Stop after the sync under way (what is left unsynced stays committed, as after a crash)."""
        self._closing.set()
        if self._thread.is_alive():
            self._thread.join(timeout=timeout_s)
        self._db.close()

    def _run(self) -> None:
        while not self._closing.is_set():
            if not self._outbox.wait_unsynced(timeout_s=0.5):
                continue
            upto, commits = self._outbox.unsynced()  # what a sync starting now covers
            try:
                self._sync_log()
            except OSError as exc:
                self._failed(exc)
                continue
            self._outbox.synced(upto, commits)
            self.syncs += 1
            self._on_durable()
            self._checkpoint_if_due()

    def _sync_log(self) -> None:
        fd = os.open(self._wal, os.O_RDONLY)
        try:
            os.fdatasync(fd)  # flushes the file's data whichever descriptor wrote it
        finally:
            os.close(fd)

    def _checkpoint_if_due(self) -> None:
        if self._clock() - self._last_checkpoint < self._checkpoint_interval_s:
            return
        self._last_checkpoint = self._clock()
        try:
            self._db.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
            self.checkpoints += 1
        except (OSError, sqlite3.OperationalError) as exc:
            self._failed(exc)

    def _failed(self, exc: BaseException) -> None:
        # A full disk or a failing card: telemetry waits unpublished in the outbox and the sync is
        # tried again; the worker's own fsynced commits (every SOS) do not depend on this thread.
        self.failures += 1
        if self.failures == 1 or self.failures % 100 == 0:
            log.error("outbox %s: cannot sync (%s, %d times): check the disk's space and health",
                      self._outbox.path, exc, self.failures)
        self._closing.wait(self.RETRY_S)
