"""Damage a SQLite file as a power cut or a failing card would: truncate it, or flip bits in a page."""

import random
import sqlite3
from pathlib import Path
from typing import Literal

Damage = Literal["truncate", "bitflip"]


def page_size(path: Path) -> int:
    """The page size recorded in a SQLite file's header (bytes 16-17; 1 means 65536)."""
    with path.open("rb") as f:
        f.seek(16)
        raw = int.from_bytes(f.read(2), "big")
    return 65536 if raw == 1 else raw


def pages_in_use(path: Path) -> list[int]:
    """The root pages of the file's tables and indexes (pages certainly in use, unlike free ones)."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        rows = conn.execute("SELECT rootpage FROM sqlite_master WHERE rootpage > 1").fetchall()
    finally:
        conn.close()
    return sorted(int(r[0]) for r in rows)


def damage_sqlite(path: Path, how: Damage, rng: random.Random) -> str:
    """Damage the file at ``path`` in place; returns a description of what was done.

    The WAL is checkpointed into the file first (as the next open would do), so that the damage
    hits the pages that hold the data rather than a near-empty main file.
    """
    conn = sqlite3.connect(path)
    try:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        conn.close()
    size, page = path.stat().st_size, page_size(path)
    pages = size // page
    if pages < 2:
        raise ValueError(f"{path} has {pages} page(s): too small to damage meaningfully")
    if how == "truncate":
        # The second half of the file goes, cut mid-page, as a card that lost its last writes leaves it.
        keep = (pages // 2) * page + page // 2
        with path.open("r+b") as f:
            f.truncate(keep)
        return f"truncated {path.name} from {size} to {keep} bytes"
    # Flip every bit of a b-tree page's header (its type byte and cell count): the page is unreadable.
    # Only a page in use: bits flipped in a free page change nothing anyone reads.
    victim = rng.choice([p for p in pages_in_use(path) if p <= pages])
    offset = (victim - 1) * page
    with path.open("r+b") as f:
        f.seek(offset)
        header = bytearray(f.read(8))
        f.seek(offset)
        f.write(bytes(b ^ 0xFF for b in header))
    return f"flipped the header bits of page {victim} of {path.name}"
