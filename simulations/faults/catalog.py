"""Every fault the campaign knows, by name: each applies itself to a running campaign and recovers.

A fault is applied at a random moment of flowing traffic (the campaign's seeded generator picks it),
then the system is brought back (a restart, SIGCONT, the link restored). Nothing here checks the
ledger: the campaign drains and compares. A fault may check its own promise too (a half-open link
noticed in time, a damaged file set aside) and say so with ``Campaign.fail``.
"""

import errno
import os
import signal
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from simulations.faults.campaign import Campaign
from simulations.faults.damage import Damage, damage_sqlite
from simulations.faults.ledger import Kind, Origin
from simulations.faults.rig import RigError, read_rows, wait_for

Fault = Callable[[Campaign], None]


def _random_moment(c: Campaign, longest_s: float = 1.5) -> None:
    c.traffic(c.rng.uniform(0.05, longest_s))


def gateway_kill9(c: Campaign) -> None:
    """kill -9 of the gateway, then a restart on the same outbox."""
    _random_moment(c)
    c.rig.signal_gateway(signal.SIGKILL)
    c.rig.start_gateway()


def central_kill9(c: Campaign) -> None:
    """kill -9 of central, then a restart on the same database."""
    _random_moment(c)
    c.rig.signal_central(signal.SIGKILL)
    c.rig.start_central()


def central_sigstop(c: Campaign) -> None:
    """Central frozen (SIGSTOP) for ``sigstop_s`` while traffic flows, then thawed."""
    _random_moment(c)
    c.rig.signal_central(signal.SIGSTOP)
    try:
        c.traffic(c.sigstop_s)
    finally:
        c.rig.signal_central(signal.SIGCONT)
    wait_for(c.rig.central_healthy, 120, "central to answer again after SIGCONT")


def broker_kill9(c: Campaign) -> None:
    """kill -9 of Mosquitto (persistence on, but nothing saved since its last autosave), then a restart."""
    _random_moment(c)
    c.rig.kill_broker(signal.SIGKILL)
    c.traffic(c.rng.uniform(0.0, 1.0))
    c.rig.restart_broker()
    wait_for(c.rig.central_healthy, 120, "central to reconnect to the restarted broker")


def broker_kill9_after_autosave(c: Campaign) -> None:
    """kill -9 of Mosquitto after it autosaved QoS 1 messages queued for an absent central: it comes
    back with that saved queue and delivers it (again, for some) when central returns, but without
    what arrived after the save, which only the gateway's outbox still has."""
    _random_moment(c)
    saved = c.rig.workdir / "broker" / "persistence" / "mosquitto.db"
    c.rig.signal_central(signal.SIGINT)  # a clean goodbye: its persistent session queues from now on
    away_since = time.time()
    # Mosquitto writes its save to a new file and renames it: a fresh mtime is a save made since.
    wait_for(lambda: saved.exists() and saved.stat().st_mtime > away_since + 0.2, 30,
             "Mosquitto to autosave the queue of the absent central")
    c.traffic(c.rng.uniform(0.0, c.timings.broker_autosave_s))
    c.rig.kill_broker(signal.SIGKILL)
    c.rig.restart_broker()
    c.rig.start_central()


def broker_restart(c: Campaign) -> None:
    """A clean broker restart (SIGTERM: persistence saved) in the middle of QoS 1 flows."""
    _random_moment(c)
    c.rig.kill_broker(signal.SIGTERM)
    c.rig.restart_broker()
    wait_for(c.rig.central_healthy, 120, "central to reconnect to the restarted broker")


def central_away_broker_overflows(c: Campaign) -> None:
    """Central stopped long enough that its broker session queues more than ``max_queued_messages``
    (Mosquitto drops the rest): the gateway's outbox must backfill what was never app-acked."""
    _random_moment(c)
    dropped = _broker_drops(c)
    c.rig.signal_central(signal.SIGINT)
    queued = c.timings.broker_max_queued
    start = c.ledger_sent_count()
    wait_for(lambda: c.ledger_sent_count() - start > 2 * queued, 120, f"{2 * queued} frames sent with central away")
    c.rig.start_central()
    if _broker_drops(c) == dropped:
        c.fail("central was away for twice the broker's queue, yet Mosquitto dropped nothing: the fault missed")


def _broker_drops(c: Campaign) -> int:
    log = c.rig.workdir / "broker" / "mosquitto.log"
    return log.read_text(errors="replace").count("being dropped for client central") if log.exists() else 0


def _central_crash_at(c: Campaign, point: str) -> None:
    c.rig.signal_central(signal.SIGINT)
    batch = c.rng.randint(1, 5)
    c.rig.start_central(env={"FLOODMESH_FAULT_INJECTION_CRASH_AT": point,
                             "FLOODMESH_FAULT_INJECTION_CRASH_BATCH": str(batch)}, wait=False)
    crashing = c.rig.central_process()
    try:
        crashing.wait(timeout=120)
    except Exception as exc:
        raise RigError(f"central with a crash {point} of batch {batch} did not crash in 120 s") from exc
    if crashing.returncode != 137:
        c.fail(f"central meant to crash {point} exited with {crashing.returncode}")
    c.rig.central = None
    c.rig.start_central()


def central_crash_after_commit(c: Campaign) -> None:
    """Central dies between committing a batch and publishing its ACKs and app acks (fault hook)."""
    _central_crash_at(c, "after_commit")


def central_crash_after_publish(c: Campaign) -> None:
    """Central dies right after handing its ACKs to the MQTT client, before the next commit (fault hook)."""
    _central_crash_at(c, "after_publish")


def backhaul_cut(c: Campaign) -> None:
    """The backhaul drops every connection and refuses new ones for a while, then comes back."""
    _random_moment(c)
    c.rig.backhaul.cut()
    c.traffic(c.rng.uniform(0.5, 3.0))
    c.rig.backhaul.restore()


def backhaul_blackhole(c: Campaign) -> None:
    """The backhaul swallows every byte and closes nothing (half-open): the gateway must notice within
    1.5x its keepalive, by its own report (the log line with the moment it noticed); then the link heals."""
    _random_moment(c)
    link, keepalive = c.rig.backhaul, c.timings.keepalive_s
    said = c.rig.gateway_link_losses()
    started = time.time()  # the gateway reports the wall clock of the same machine
    link.blackhole = True
    try:
        wait_for(lambda: len(c.rig.gateway_link_losses()) > len(said), keepalive * 4,
                 f"the gateway to report the half-open backhaul (keepalive {keepalive} s)")
    except RigError as exc:
        c.fail(str(exc))
        return
    finally:
        link.blackhole = False
    noticed = c.rig.gateway_link_losses()[len(said)] - started
    c.measure("half_open_detected_s", round(noticed, 2))
    if noticed > 1.5 * keepalive:
        c.fail(f"half-open backhaul noticed after {noticed:.1f} s, more than 1.5 x keepalive {keepalive} s")


def backhaul_flapping(c: Campaign) -> None:
    """The backhaul flaps: down and up several times within seconds, each time either cut (connections
    dropped) or blackholed (silent), as a failing radio link or a generator coming and going does."""
    _random_moment(c)
    link = c.rig.backhaul
    for _ in range(c.rng.randint(3, 7)):
        if c.rng.random() < 0.5:
            link.cut()
        else:
            link.blackhole = True
        c.traffic(c.rng.uniform(0.2, 2.0))
        link.blackhole = False
        link.restore()
        c.traffic(c.rng.uniform(0.2, 2.0))


# A clock that jumps: five minutes ahead or behind (an NTP step, a flat RTC battery), or a quarter of
# an hour back (a board that booted with its build date).
_CLOCK_JUMPS_S = (300, -300, -900)


def node_clock_jump(c: Campaign) -> None:
    """The nodes' clocks jump (+5 min, -5 min, -15 min) for a while, then back: events are told apart
    by (node, boot, seq), so none is taken for a repeat, and no alert is decided on a time gone back."""
    _random_moment(c)
    alerts = _alerts(c)
    c.nodes.clock_offset_s = c.rng.choice(_CLOCK_JUMPS_S)
    try:
        c.traffic(c.rng.uniform(1.0, 3.0))
    finally:
        c.nodes.clock_offset_s = 0
    c.traffic(1.0)
    _check_alerts_in_time_order(c, alerts)


def gateway_clock_jump(c: Campaign) -> None:
    """The gateway's wall clock jumps (+5 min, -5 min, -15 min) while it runs, then jumps back: its
    monotonic timers go on, nothing it stores is taken for a repeat, no alert is decided on a time gone back."""
    _random_moment(c)
    alerts = _alerts(c)
    jump = c.rng.choice(_CLOCK_JUMPS_S)
    c.rig.gateway_clock_file.write_text(str(jump))
    try:
        c.traffic(c.rng.uniform(1.0, 3.0))
        # The fault's own proof that it happened: central now gets readings stamped by the skewed clock.
        try:
            wait_for(lambda: abs(_newest_reading_skew(c) - jump) < 60, 30, f"readings heard {jump} s off")
        except RigError as exc:
            c.fail(f"the gateway's clock jump never showed at central: {exc}")
    finally:
        c.rig.gateway_clock_file.write_text("0")
    c.traffic(1.0)
    _check_alerts_in_time_order(c, alerts)


def _newest_reading_skew(c: Campaign) -> float:
    rows = read_rows(c.rig.central_db, "SELECT received_at FROM readings ORDER BY id DESC LIMIT 1")
    return datetime.fromisoformat(str(rows[0][0])).timestamp() - time.time() if rows else 0.0


def _alerts(c: Campaign) -> list[tuple[int, str, str]]:
    return [(int(i), str(s), str(at)) for i, s, at in read_rows(c.rig.central_db,
                                                                "SELECT id, station_id, at FROM alerts ORDER BY id")]


def _check_alerts_in_time_order(c: Campaign, before: list[tuple[int, str, str]]) -> None:
    # Each station's alerts are decided in the order of the readings' times: one decided on a time that
    # went back would carry an earlier time than an alert decided before it.
    latest: dict[str, str] = {}
    rows = _alerts(c)
    for _id, station, at in rows:
        if at < latest.get(station, ""):
            c.fail(f"alert {_id} of {station} decided at {at}, before an earlier alert's {latest[station]}")
        latest[station] = max(at, latest.get(station, ""))
    c.measure("alerts_checked", len(rows) - len(before))


def _set_aside_files(c: Campaign, name: str) -> list[str]:
    return sorted(p.name for p in c.workdir.glob(f"{name}.corrupt-*") if not p.name.endswith(("-wal", "-shm")))


def _damage(c: Campaign, which: str) -> None:
    # Quiet the nodes, drain and bank the verdict: what the damaged file held is then already at
    # central (for the outbox) or was checked already (for central's database, whose content is gone).
    c.nodes.pressing = False
    try:
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
    _random_moment(c)
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
    _random_moment(c)
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


FAULTS: dict[str, Fault] = {
    "gateway_kill9": gateway_kill9,
    "central_kill9": central_kill9,
    "central_sigstop": central_sigstop,
    "broker_kill9": broker_kill9,
    "broker_kill9_after_autosave": broker_kill9_after_autosave,
    "broker_restart": broker_restart,
    "central_crash_after_commit": central_crash_after_commit,
    "central_crash_after_publish": central_crash_after_publish,
    "backhaul_cut": backhaul_cut,
    "backhaul_blackhole": backhaul_blackhole,
    "backhaul_flapping": backhaul_flapping,
    "outbox_damaged": outbox_damaged,
    "central_db_damaged": central_db_damaged,
    "outbox_disk_full": outbox_disk_full,
    "central_away_broker_overflows": central_away_broker_overflows,
    "gateway_power_cut": gateway_power_cut,
    "node_clock_jump": node_clock_jump,
    "gateway_clock_jump": gateway_clock_jump,
}
"""Every fault by name, in the order ``--quick`` runs them."""

RIG_OF: dict[str, str] = {"outbox_disk_full": "disk", "gateway_power_cut": "power"}
"""Faults run on a rig of their own: "disk" keeps the gateway's outbox on a small tmpfs, "power" on
a filesystem that loses unsynced writes. Every other fault runs on the "main" rig."""

NEEDS_OUTBOX_DISK = frozenset(RIG_OF)
"""Faults that do not run on the main rig."""
