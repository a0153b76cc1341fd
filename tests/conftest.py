"""Fixtures shared by every tier's tests: real brokers on free loopback ports."""

from collections.abc import Iterator
from pathlib import Path

import pytest

from floodmesh.broker import RunningBroker, find_mosquitto, start_broker


@pytest.fixture
def mosquitto(tmp_path: Path) -> Iterator[RunningBroker]:
    """A real Mosquitto on a free loopback port, secured as in production (TLS, passwords, ACL).

    Clients get their identity from it: ``endpoint_for_central()``, ``add_gateway(ward, gw)``.
    """
    if find_mosquitto() is None:
        pytest.fail("mosquitto is not installed: the test command's setup installs it (apt-get install mosquitto)")
    broker = start_broker(tmp_path / "mosquitto", prefer="mosquitto")
    yield broker
    broker.stop()
