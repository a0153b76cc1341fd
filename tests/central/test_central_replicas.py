"""Central replicas sharing the uplinks ($share/central/... on Mosquitto) over one PostgreSQL database."""

import json
import signal
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from central.core.config import CentralSettings
from central.service import CentralService
from edge_nodes.fleet import ButtonSite, StationSite, build_fleet
from floodmesh.broker import RunningBroker, settings_fields
from gateway.config import GatewaySettings
from gateway.radio.sim import Air, SimRadioLink
from gateway.service import GatewayService
from protocol import frames
from protocol.registry import NodeRegistry
from tests.central.replica_testkit import send, stored, wait_stored
from tests.mqtt_peer import wait_until

pytestmark = pytest.mark.integration

WARD, GW = "19813", "gw-19813"
GROUP = "central"
READINGS, SOS, ROUND = 400, 4, 20


def _registry() -> NodeRegistry:
    return build_fleet([StationSite("kim_long", WARD, 16.41667, 107.5667)], [ButtonSite(WARD)] * SOS,
                       sensors_per_station=8, demo_secret=b"replicas")


@pytest.fixture
def replica_process(tmp_path: Path, mosquitto: RunningBroker, postgres_url: str) -> Iterator[subprocess.Popen[str]]:
    """`floodmesh central` as its own process (so it can be killed -9), sharing the uplinks."""
    argv = [sys.executable, "-m", "floodmesh", "central", "--database-url", postgres_url,
            "--db", str(tmp_path / "replica-b.db"),  # its telemetry (SQLite backend), apart from A's
            "--registry", str(tmp_path / "nodes.json"), "--allow-demo-registry", "--api-port", "0",
            "--shared-subscription", GROUP, "--client-id", "central-b", *mosquitto.cli_args("central")]
    _registry().save(tmp_path / "nodes.json")
    process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    yield process
    if process.poll() is None:
        process.kill()
    process.wait(10)
    if process.stdout is not None:
        process.stdout.close()


def _mqtt_connected(api_url: str) -> bool:
    with urllib.request.urlopen(f"{api_url}/healthz", timeout=2) as answer:  # noqa: S310
        return bool(json.loads(answer.read())["mqtt_connected"])


def _sos(air: Air, registry: NodeRegistry) -> set[tuple[int, int, int]]:
    sent = set()
    for button in (r for r in registry if r.kind == "sos_button"):
        frame = frames.Frame(button.node_id, 1, 1, 1_764_000_500, frames.Sos(2, 3))
        air.transmit(button.node_id, frames.encode(frame, button.key))
        sent.add(frame.event_id)
    return sent


def test_two_replicas_share_the_uplinks_and_one_killed_loses_nothing(
    tmp_path: Path, mosquitto: RunningBroker, postgres_url: str, replica_process: subprocess.Popen[str],
) -> None:
    registry = _registry()
    # Replica B, its own process: wait for its API, then for its MQTT session.
    line = replica_process.stdout.readline() if replica_process.stdout else ""
    assert "dashboard http" in line, f"replica B did not start: {line!r}"
    api_b = line.split("dashboard ", 1)[1].split("/ ", 1)[0]
    wait_until(lambda: _mqtt_connected(api_b), what="replica B on the broker")
    replica_a = CentralService(CentralSettings(
        database_url=postgres_url, db_path=tmp_path / "replica-a.db", registry_path=tmp_path / "nodes.json",
        api_port=0, allow_demo_registry=True,
        shared_subscription=GROUP, client_id="central-a", **settings_fields(mosquitto.endpoint_for_central())))
    replica_a.start()
    settings = GatewaySettings(WARD, GW, tmp_path / "outbox.db", **settings_fields(mosquitto.add_gateway(WARD, GW)),
                               retry_s=3)
    air = Air()
    gw = GatewayService(settings, SimRadioLink(air, 0x0F000001), registry)
    gw.start()
    try:
        assert replica_a.ingest is not None
        assert replica_a.ingest.wait_subscribed(10)
        wait_until(lambda: gw.stats()["connected"] is True, what="gateway online")
        readings: set[tuple[int, int, int]] = set()
        for first in range(0, READINGS // 2, ROUND):  # rounds: several MQTT messages, not one big batch
            readings |= send(air, registry, first, ROUND)
            wait_stored(postgres_url, first + ROUND)
        published = int(str(gw.stats()["published"]))
        # Round robin between two live members: A saw only part of what the gateway published.
        assert 0 < replica_a.ingest.status().received < published, (replica_a.ingest.status(), published)
        # B freezes mid-stream and is then killed -9: the uplinks the broker handed it were never
        # committed nor acknowledged, and must reach A through the gateway's resend.
        received_a = replica_a.ingest.status().received
        replica_process.send_signal(signal.SIGSTOP)
        readings |= send(air, registry, READINGS // 2, READINGS // 2)
        sos = _sos(air, registry)
        wait_until(lambda: replica_a.ingest is not None and replica_a.ingest.status().received > received_a
                   and int(str(gw.stats()["in_flight"])) > 0, what="A's share taken, B's share stuck in B")
        replica_process.kill()
        wait_until(lambda: len(stored(postgres_url, "readings")) >= READINGS
                   and len(stored(postgres_url, "cases")) >= SOS, timeout_s=60, what="everything at replica A")
        assert sorted(stored(postgres_url, "readings")) == sorted(readings)  # each exactly once
        assert sorted(stored(postgres_url, "cases")) == sorted(sos)
        wait_until(lambda: gw.stats()["outbox_pending"] == 0, what="the gateway's outbox drained by acks")
        assert int(str(gw.stats()["resent"])) > 0  # B's share came back through the gateway's resend
    finally:
        gw.stop()
        replica_a.stop()
