"""Faults of the stores' disks: a damaged file, a full disk, a power cut that loses unsynced writes."""

import errno
import os
import signal
from pathlib import Path

from simulations.faults.campaign import Campaign
from simulations.faults.damage import Damage, damage_sqlite
from simulations.faults.ledger import Kind, Origin
from simulations.faults.rig import RigError, wait_for


def _set_aside_files(c: Campaign, name: str) -> list[str]:
    return sorted(p.name for p in c.workdir.glob(f"{name}.corrupt-*") if not p.name.endswith(("-wal", "-shm")))


def _damage(c: Campaign, which: str) -> None:
    # Quiet the nodes, let what is on its way arrive, drain and bank the verdict: what the damaged file
    # held is then already at central (the outbox) or was checked already (central's database, gone).
    c.nodes.pressing = False
    try:
        c.quiesce()
        c.close_epoch()
        how: Damage = c.rng.choice(["truncate", "bitflip"])
        if which == "outbox":
            before = _set_aside_files(c, c.rig.outbox.name)
            c.rig.signal_gateway(signal.SIGINT)
            what = damage_sqlite(c.rig.outbox, how, c.rng)
            c.rig.start_gateway()
            after = _set_aside_files(c, c.rig.outbox.name)
        else:
            before = _set_aside_files(c, c.rig.central_db.name)
            c.rig.signal_central(signal.SIGINT)
            what = damage_sqlite(c.rig.central_db, how, c.rng)
            c.rig.start_central()
            after = _set_aside_files(c, c.rig.central_db.name)
            said = c.rig.central_stats().get("database_set_aside")
            if not said:
                c.fail(f"central's /api/stats does not say its database was set aside ({what})")
        if len(after) != len(before) + 1:
            c.fail(f"{which} damaged ({what}) but not set aside at start")
    finally:
        c.nodes.pressing = True
    c.traffic(c.rng.uniform(0.5, 1.5))  # the fresh file carries traffic again


def outbox_damaged(c: Campaign) -> None:
    """The gateway's outbox truncated or bit-flipped while the gateway was down."""
    _damage(c, "outbox")


def central_db_damaged(c: Campaign) -> None:
    """Central's database truncated or bit-flipped while central was down."""
    _damage(c, "central")


def _disk_full_lines(c: Campaign) -> int:
    return c.rig.log_text().count("the outbox's disk is full")


def _fill(path: Path) -> None:
    """Write zeros to ``path`` until its filesystem is full. Unbuffered on purpose: a buffered file
    keeps what a failed flush could not write and raises ENOSPC again when it is closed."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        chunk = bytes(65536)
        while True:
            try:
                os.write(fd, chunk)
            except OSError as e:
                if e.errno != errno.ENOSPC:
                    raise
                if len(chunk) == 1:
                    return  # not one more byte fits: the disk is full
                chunk = chunk[: len(chunk) // 2]  # fill the last partial blocks too
    finally:
        os.close(fd)


def outbox_disk_full(c: Campaign) -> None:
    """The gateway's outbox disk (a tmpfs) fills up while traffic flows, then space comes back: what
    cannot be stored is refused (logged, counted), no button is ACKed for it, service resumes alone."""
    if c.timings.outbox_disk_bytes is None:
        raise RigError("outbox_disk_full needs a rig with RigTimings(outbox_disk_bytes=...)")
    c.random_moment()
    filler = c.rig.outbox_disk() / "filler"
    said = _disk_full_lines(c)
    _fill(filler)
    try:
        c.traffic(c.rng.uniform(2.0, 4.0))
    finally:
        filler.unlink()
    # Not every full disk makes a write fail: SQLite reuses the WAL's space once checkpointed, so a
    # short spell may store everything. The promise is in the ledger (no ACK for what was not stored,
    # service back alone); how often the gateway had to refuse is a measure, not a check.
    c.measure("disk_full_refusal_lines", _disk_full_lines(c) - said)


def _button_acks(c: Campaign) -> int:
    return sum(o is Origin.BUTTON_ACK for o in c.ledger.acknowledged[Kind.SOS].values())


def gateway_power_cut(c: Campaign) -> None:
    """The gateway's power goes while its backhaul is down, right after it ACKed a button on its own:
    its disk (a FUSE filesystem) keeps only what was fsynced. After the restart every ACKed SOS must
    still reach central, and the outbox must open sound (a torn file would be set aside, SOS and all)."""
    if c.rig.power_disk is None:
        raise RigError("gateway_power_cut needs a rig with RigTimings(outbox_power_loss=True)")
    c.random_moment()
    # Cut off, the outbox is the only copy of what the gateway acknowledged (with the backhaul up, the
    # broker would hold a copy within milliseconds and hide a missing fsync). The moment that proves the
    # promise: an ACK just went out on the radio, so what it acknowledged must already be on the disk.
    c.rig.backhaul.cut()
    try:
        acks = _button_acks(c)
        wait_for(lambda: _button_acks(c) > acks, 60, "the cut-off gateway to ACK a button", poll_s=0.002)
        c.rig.power_cut()
    finally:
        c.rig.backhaul.restore()
    before = _set_aside(c.rig.outbox_dir, c.rig.outbox.name)
    c.rig.start_gateway()
    if _set_aside(c.rig.outbox_dir, c.rig.outbox.name) != before:
        c.fail("the outbox was set aside as damaged after a power cut: a commit was not durable")


def _set_aside(where: Path, name: str) -> list[str]:
    return sorted(p.name for p in where.glob(f"{name}.corrupt-*") if not p.name.endswith(("-wal", "-shm")))
