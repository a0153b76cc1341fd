"""Every fault the campaign knows, by name: each applies itself to a running campaign and recovers.

A fault is applied at a random moment of flowing traffic (the campaign's seeded generator picks it),
then the system is brought back (a restart, SIGCONT, the link restored). Nothing here checks the
ledger: the campaign drains and compares. A fault may check its own promise too (a half-open link
noticed in time, a damaged file set aside) and say so with ``Campaign.fail``.
"""

import signal
import time
from collections.abc import Callable

from simulations.faults.campaign import Campaign
from simulations.faults.clock_faults import gateway_clock_jump, node_clock_jump
from simulations.faults.rig import RigError, wait_for
from simulations.faults.storage_faults import (
    central_db_damaged,
    gateway_power_cut,
    outbox_damaged,
    outbox_disk_full,
)

Fault = Callable[[Campaign], None]


def gateway_kill9(c: Campaign) -> None:
    """kill -9 of the gateway, then a restart on the same outbox."""
    c.random_moment()
    c.rig.signal_gateway(signal.SIGKILL)
    c.rig.start_gateway()


def central_kill9(c: Campaign) -> None:
    """kill -9 of central, then a restart on the same database."""
    c.random_moment()
    c.rig.signal_central(signal.SIGKILL)
    c.rig.start_central()


def central_sigstop(c: Campaign) -> None:
    """Central frozen (SIGSTOP) for ``sigstop_s`` while traffic flows, then thawed."""
    c.random_moment()
    c.rig.signal_central(signal.SIGSTOP)
    try:
        c.traffic(c.sigstop_s)
    finally:
        c.rig.signal_central(signal.SIGCONT)
    wait_for(c.rig.central_healthy, 120, "central to answer again after SIGCONT")


def broker_kill9(c: Campaign) -> None:
    """kill -9 of Mosquitto (persistence on, but nothing saved since its last autosave), then a restart."""
    c.random_moment()
    c.rig.kill_broker(signal.SIGKILL)
    c.traffic(c.rng.uniform(0.0, 1.0))
    c.rig.restart_broker()
    wait_for(c.rig.central_healthy, 120, "central to reconnect to the restarted broker")


def broker_kill9_after_autosave(c: Campaign) -> None:
    """kill -9 of Mosquitto after it autosaved QoS 1 messages queued for an absent central: it comes
    back with that saved queue and delivers it (again, for some) when central returns, but without
    what arrived after the save, which only the gateway's outbox still has."""
    c.random_moment()
    saved = c.rig.workdir / "broker" / "persistence" / "mosquitto.db"
    duplicates = int(c.rig.central_stats().get("duplicates", 0))
    c.rig.signal_central(signal.SIGINT)  # a clean goodbye: its persistent session queues from now on
    away_since = time.time()
    # Mosquitto writes its save to a new file and renames it: a fresh mtime is a save made since.
    wait_for(lambda: saved.exists() and saved.stat().st_mtime > away_since + 0.2, 30,
             "Mosquitto to autosave the queue of the absent central")
    c.traffic(c.rng.uniform(0.0, c.timings.broker_autosave_s))
    c.rig.kill_broker(signal.SIGKILL)
    c.rig.restart_broker()
    c.rig.start_central()
    c.traffic(1.0)
    # What central took for repeats (the saved queue again, the outbox's resends) and set aside.
    c.measure("autosave_duplicates_absorbed", int(c.rig.central_stats().get("duplicates", 0)) - duplicates)


def broker_restart(c: Campaign) -> None:
    """A clean broker restart (SIGTERM: persistence saved) in the middle of QoS 1 flows."""
    c.random_moment()
    c.rig.kill_broker(signal.SIGTERM)
    c.rig.restart_broker()
    wait_for(c.rig.central_healthy, 120, "central to reconnect to the restarted broker")


def central_away_broker_overflows(c: Campaign) -> None:
    """Central stopped long enough that its broker session queues more than ``max_queued_messages``
    (Mosquitto drops the rest): the gateway's outbox must backfill what was never app-acked."""
    c.random_moment()
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
    c.random_moment()
    c.rig.backhaul.cut()
    c.traffic(c.rng.uniform(0.5, 3.0))
    c.rig.backhaul.restore()


def backhaul_blackhole(c: Campaign) -> None:
    """The backhaul swallows every byte and closes nothing (half-open): the gateway must notice within
    1.5x its keepalive, by its own report (the log line with the moment it noticed); then the link heals."""
    c.random_moment()
    link, keepalive = c.rig.backhaul, c.timings.keepalive_s
    started = time.time()  # the gateway reports the wall clock of the same machine
    link.blackhole = True

    def noticed_since() -> list[float]:  # a line about an earlier loss may still be coming: not this one
        return [t for t in c.rig.gateway_link_losses() if t >= started]

    try:
        wait_for(lambda: bool(noticed_since()), keepalive * 4,
                 f"the gateway to report the half-open backhaul (keepalive {keepalive} s)")
    except RigError as exc:
        c.fail(str(exc))
        return
    finally:
        link.blackhole = False
    noticed = noticed_since()[0] - started
    c.measure("half_open_detected_s", round(noticed, 2))
    if noticed > 1.5 * keepalive:
        c.fail(f"half-open backhaul noticed after {noticed:.1f} s, more than 1.5 x keepalive {keepalive} s")


def backhaul_flapping(c: Campaign) -> None:
    """The backhaul flaps: down and up several times within seconds, each time either cut (connections
    dropped) or blackholed (silent), as a failing radio link or a generator coming and going does."""
    c.random_moment()
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
