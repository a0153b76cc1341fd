"""``floodmesh broker init|add-gateway``: an operator's broker from floodmesh's records, on real Mosquitto."""

import stat
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from floodmesh.broker import find_mosquitto, free_port, probe_connect, wait_for_port
from floodmesh.broker_auth import BrokerAuth
from floodmesh.cli import main
from protocol.mqtt_endpoint import MqttEndpoint
from tests.mqtt_peer import wait_until

pytestmark = pytest.mark.integration


@pytest.fixture
def operator_broker(tmp_path: Path) -> Iterator[tuple[Path, int]]:
    """`floodmesh broker init`, then Mosquitto run exactly on the config it wrote."""
    directory, port = tmp_path / "broker", free_port()
    assert main(["broker", "init", "--dir", str(directory), "--port", str(port), "--bind", "127.0.0.1"]) == 0
    mosquitto = find_mosquitto()
    if mosquitto is None:
        pytest.fail("mosquitto is not installed (apt-get install mosquitto)")
    (directory / "data").mkdir()
    with (tmp_path / "mosquitto.out").open("wb") as log:
        process = subprocess.Popen([mosquitto, "-c", str(directory / "mosquitto.conf")], stdout=log,
                                   stderr=subprocess.STDOUT)
    try:
        wait_for_port("127.0.0.1", port, 20, process)
        yield directory, port
    finally:
        process.terminate()
        process.wait(10)


def _endpoint(directory: Path, port: int, username: str) -> MqttEndpoint:
    return MqttEndpoint("127.0.0.1", port, username, BrokerAuth(directory).password(username), directory / "ca.crt")


def test_init_then_add_gateway_reloads_the_running_broker(operator_broker: tuple[Path, int]) -> None:
    directory, port = operator_broker
    assert probe_connect(_endpoint(directory, port, "central"), timeout_s=5)
    for secret in ("ca.key", "server.key", "passwd", "secrets/central.password"):
        assert stat.S_IMODE((directory / secret).stat().st_mode) == 0o600, secret
    wait_until((directory / "mosquitto.pid").exists, what="the broker's pid file")

    assert main(["broker", "add-gateway", "--dir", str(directory), "--ward", "19774", "--gateway", "gw-19774"]) == 0
    assert stat.S_IMODE((directory / "secrets/gw-19774.password").stat().st_mode) == 0o600
    wait_until(lambda: probe_connect(_endpoint(directory, port, "gw-19774"), timeout_s=2),
               what="the reloaded broker accepting the new gateway")
    # Adding it again keeps its password (the gateway already has a copy).
    before = BrokerAuth(directory).password("gw-19774")
    assert main(["broker", "add-gateway", "--dir", str(directory), "--ward", "19774", "--gateway", "gw-19774"]) == 0
    assert BrokerAuth(directory).password("gw-19774") == before


def test_a_gateway_id_cannot_be_taken_by_another_ward(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    directory = tmp_path / "broker"
    assert main(["broker", "init", "--dir", str(directory)]) == 0
    assert main(["broker", "add-gateway", "--dir", str(directory), "--ward", "19774", "--gateway", "gw-a"]) == 0
    assert main(["broker", "add-gateway", "--dir", str(directory), "--ward", "19813", "--gateway", "gw-a"]) == 2
    assert "already exists" in capsys.readouterr().err  # errors go to stderr (run_broker)
    assert main(["broker", "add-gateway", "--dir", str(tmp_path / "nowhere"), "--ward", "1", "--gateway", "g"]) == 2
