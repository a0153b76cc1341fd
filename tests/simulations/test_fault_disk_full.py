"""The gateway's outbox disk fills up (a tmpfs in a mount namespace): explicit refusals, never a false
ACK, and service back by itself when space returns."""

import os
import shutil
from collections.abc import Iterator

import pytest

from floodmesh.broker import find_mosquitto
from simulations.faults.campaign import Campaign
from simulations.faults.rig import RigTimings
from simulations.faults.storage_faults import outbox_disk_full

pytestmark = [pytest.mark.integration, pytest.mark.slow]


@pytest.fixture
def campaign(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Campaign]:
    if find_mosquitto() is None or shutil.which("unshare") is None:
        pytest.fail("mosquitto and unshare (util-linux) are needed: scripts/setup.sh installs them")
    if os.geteuid() != 0:
        pytest.fail("a tmpfs in a mount namespace needs root (as the test command runs here and in CI)")
    running = Campaign(tmp_path_factory.mktemp("disk"), seed=5, drain_timeout_s=60,
                       timings=RigTimings(outbox_disk_bytes=16 * 1024 * 1024))
    running.start()
    running.traffic(1.0)
    yield running
    running.stop()


def test_a_full_outbox_disk_refuses_and_never_acks_falsely(campaign: Campaign) -> None:
    outbox_disk_full(campaign)
    verdict = campaign.close_epoch()
    assert campaign.failures == [], campaign.failures
    assert verdict.counts() == {"lost": 0, "duplicated": 0, "unexpected": 0}, verdict
    assert campaign.nodes.unanswered() == 0, "an SOS refused while the disk was full was never stored afterwards"
    assert verdict.acknowledged > 0
