"""Each fault of the campaign once, on real processes, with the total-queue checker clean after it.

One rig (Mosquitto, ``floodmesh central``, ``floodmesh gateway``) serves the whole module, so that a
fault costs seconds, not a start-up; the long campaign is ``python -m simulations.faults``.
"""

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from floodmesh.broker import find_mosquitto
from simulations.faults.campaign import Campaign
from simulations.faults.catalog import FAULTS, NEEDS_OUTBOX_DISK
from simulations.faults.ledger import Kind
from simulations.faults.rig import RigTimings

pytestmark = [pytest.mark.integration, pytest.mark.slow]


@pytest.fixture(scope="module")
def campaign(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Campaign]:
    if find_mosquitto() is None:
        pytest.fail("mosquitto is not installed: the test command's setup installs it (apt-get install mosquitto)")
    # A small broker queue: central_away_broker_overflows then needs only 2 x 100 frames.
    running = Campaign(tmp_path_factory.mktemp("faults"), seed=20261201, drain_timeout_s=60,
                       timings=RigTimings(broker_max_queued=100))
    running.start()
    running.traffic(1.0)
    yield running
    running.stop()


@pytest.mark.parametrize("fault", [f for f in FAULTS if f not in NEEDS_OUTBOX_DISK])  # disk, power: own tests
def test_fault_leaves_nothing_lost_duplicated_or_unexpected(campaign: Campaign, fault: str) -> None:
    before, failed_before = campaign.verdict.acknowledged, len(campaign.failures)
    FAULTS[fault](campaign)
    verdict = campaign.close_epoch()
    assert verdict.counts() == {"lost": 0, "duplicated": 0, "unexpected": 0}, verdict
    assert campaign.failures[failed_before:] == [], "this fault's own check failed"
    assert campaign.verdict.acknowledged > before, "the round acknowledged nothing: the checker checked nothing"
    assert campaign.nodes.unanswered() == 0, "an SOS never got its ACK back"


def test_half_open_backhaul_noticed_within_one_and_a_half_keepalives(campaign: Campaign) -> None:
    FAULTS["backhaul_blackhole"](campaign)
    noticed = campaign.measures["half_open_detected_s"]
    assert noticed, "no half-open link was measured"
    assert max(noticed) <= 1.5 * campaign.timings.keepalive_s


def test_the_checker_sees_a_reading_central_lost(campaign: Campaign) -> None:
    campaign.traffic(1.0)
    campaign.drain()
    acked = set(campaign.ledger.acknowledged[Kind.READING])
    held = set(campaign.holdings().readings)
    victim = sorted(acked & held)[-1]
    _delete_reading(campaign.rig.central_db, victim)
    campaign.drain_timeout_s = 3  # the reading will not come back: no need to wait long for it
    verdict = campaign.drain()
    assert verdict.lost == [(Kind.READING, victim)]


def _delete_reading(db: Path, event: tuple[int, int, int]) -> None:
    with sqlite3.connect(db, timeout=30) as conn:
        conn.execute("DELETE FROM readings WHERE node_id = ? AND boot_epoch = ? AND seq = ?", event)
    conn.close()
