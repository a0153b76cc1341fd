"""Power loss: the gateway's outbox on a FUSE filesystem that drops every write not yet fsynced when
its power is cut. Every SOS a button was ACKed for must still reach central after the restart."""

import base64
import os
import shutil
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from floodmesh.broker import find_mosquitto
from gateway.directory import DirectoryCache
from protocol.envelopes import DutyOfficer, WardDirectory
from simulations.faults.campaign import Campaign
from simulations.faults.ledger import Kind, Origin
from simulations.faults.power_loss_fs import PowerLossDisk
from simulations.faults.rig import WARD, RigTimings
from simulations.faults.storage_faults import gateway_power_cut

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def _needs_fuse() -> None:
    if os.geteuid() != 0 or not Path("/dev/fuse").exists() or shutil.which("fusermount3") is None:
        pytest.fail("a FUSE mount needs root, /dev/fuse and libfuse3 (scripts/setup.sh installs fuse3)")


@pytest.fixture
def disk(tmp_path: Path) -> Iterator[PowerLossDisk]:
    _needs_fuse()
    mounted = PowerLossDisk(tmp_path / "disk", tmp_path / "mnt")
    mounted.mount()
    yield mounted
    mounted.close()


def _commit_rows(db: Path, synchronous: str, rows: int) -> None:
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute(f"PRAGMA synchronous={synchronous}")
    conn.execute("CREATE TABLE t (x INTEGER)")
    for i in range(rows):
        conn.execute("INSERT INTO t VALUES (?)", (i,))
    # Left open, as a process that loses its power leaves it.


def _rows_after_power_cut(disk: PowerLossDisk, name: str) -> int:
    disk.cut()
    disk.mount()
    try:
        conn = sqlite3.connect(disk.mountpoint / name)
        try:
            return int(conn.execute("SELECT count(*) FROM t").fetchone()[0])
        finally:
            conn.close()
    except sqlite3.OperationalError:  # "no such table": not even the schema was synced
        return 0


def test_the_power_cut_keeps_full_sync_commits_and_loses_what_was_not_synced(disk: PowerLossDisk) -> None:
    # The filesystem can tell a durable commit from one that was only visible: without that, the
    # gateway test below could not fail.
    _commit_rows(disk.mountpoint / "full.db", "FULL", 50)
    _commit_rows(disk.mountpoint / "normal.db", "NORMAL", 50)
    (disk.mountpoint / "never-synced.txt").write_text("gone with the power")
    assert _rows_after_power_cut(disk, "full.db") == 50
    assert _rows_after_power_cut(disk, "normal.db") == 0
    assert (disk.mountpoint / "never-synced.txt").read_text() == ""


@pytest.fixture
def campaign(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Campaign]:
    _needs_fuse()
    if find_mosquitto() is None:
        pytest.fail("mosquitto is not installed: the test command's setup installs it (apt-get install mosquitto)")
    running = Campaign(tmp_path_factory.mktemp("power"), seed=11, drain_timeout_s=60,
                       timings=RigTimings(outbox_power_loss=True))
    running.start()
    running.traffic(1.0)
    yield running
    running.stop()


def test_every_sos_a_button_was_acked_for_survives_a_power_cut(campaign: Campaign) -> None:
    for _ in range(3):
        gateway_power_cut(campaign)
    acked_by_button = [e for e, o in campaign.ledger.acknowledged[Kind.SOS].items() if o is Origin.BUTTON_ACK]
    verdict = campaign.close_epoch()
    assert campaign.failures == [], campaign.failures
    assert verdict.counts() == {"lost": 0, "duplicated": 0, "unexpected": 0}, verdict
    assert len(acked_by_button) >= 3, "no SOS was ACKed before a cut: the test proved nothing"
    assert set(acked_by_button) <= set(campaign.holdings().sos_events)  # a later press joins its case
    assert campaign.nodes.unanswered() == 0


def test_the_wards_directory_cached_by_the_gateway_survives_a_power_cut(disk: PowerLossDisk) -> None:
    # Cut off, the cached directory is how the gateway knows which officers' radios to trust: a power
    # cut must not leave it empty (it was written without an fsync: renamed, its contents never synced).
    pinned = base64.b64encode(bytes(range(32))).decode()
    directory = WardDirectory(ward=WARD, authority="UBND Phường Kim Long", officers=[
        DutyOfficer(name="Trần Văn A", radio_node_id=0x0D000001, public_key=pinned)])
    path = disk.mountpoint / "outbox-directory.json"
    assert DirectoryCache(path, WARD).update(directory.model_dump_json().encode())
    disk.cut()
    disk.mount()
    assert DirectoryCache(path, WARD).directory == directory
