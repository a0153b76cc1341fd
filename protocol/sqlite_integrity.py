"""A damaged SQLite file found at start is set aside, never opened in place and never deleted.

A power cut, a dying SD card or a bit flip can leave the gateway's outbox or central's database
unreadable. Opening it anyway fails later, mid-flood, on the first query that touches the bad page.
So each durable store is checked when its process starts (``PRAGMA integrity_check``); a damaged
file (with its ``-wal`` and ``-shm``) is renamed to ``<name>.corrupt-<UTC time>`` beside it, for
an operator to salvage, and the process goes on with a fresh file, saying so loudly.
"""

import logging
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

log = logging.getLogger(__name__)

_COMPANIONS = ("-wal", "-shm", "-journal")


@dataclass(frozen=True)
class SetAside:
    """A damaged database file moved out of the way at start."""

    original: Path
    moved_to: Path
    reason: str
    at: str  # ISO 8601 UTC

    def describe(self) -> str:
        """One line for logs, status messages and /api/stats."""
        return f"{self.original} was damaged ({self.reason}); set aside as {self.moved_to} at {self.at}"


def integrity_problem(path: Path) -> str | None:
    """Why the SQLite file at ``path`` is damaged, or None when it is sound (or does not exist yet)."""
    if not path.exists() or path.stat().st_size == 0:
        return None
    try:
        # Read-only: a check must not "repair" the file by replaying or truncating its WAL.
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            rows = conn.execute("PRAGMA integrity_check").fetchall()
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:  # "file is not a database", "database disk image is malformed"
        return str(exc)
    verdict = "; ".join(str(r[0]) for r in rows[:3])
    return None if verdict == "ok" else verdict


def set_aside_if_damaged(path: Path, what: str, now: datetime | None = None) -> SetAside | None:
    """Check ``path``; if damaged, move it (and its WAL/SHM) aside and return what was done, else None.

    ``what`` names the store in the log line ("gateway outbox", "central database").
    """
    problem = integrity_problem(path)
    if problem is None:
        return None
    at = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%SZ")
    moved_to = path.with_name(f"{path.name}.corrupt-{at}")
    n = 1
    while moved_to.exists():  # damaged twice in one second: never overwrite an earlier one
        n += 1
        moved_to = path.with_name(f"{path.name}.corrupt-{at}-{n}")
    for suffix in ("", *_COMPANIONS):
        src = Path(f"{path}{suffix}")
        if src.exists():
            src.rename(Path(f"{moved_to}{suffix}"))
    done = SetAside(path, moved_to, problem, at)
    log.critical("%s %s; continuing on a fresh file. What it held and central does not have is lost until "
                 "someone salvages it (sqlite3 %s .recover)", what, done.describe(), moved_to)
    return done
