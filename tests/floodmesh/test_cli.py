"""`floodmesh demo --duration N --summary-json` runs the whole system and reports a summary."""

import json
import re
import subprocess
import sys

import pytest

pytestmark = [pytest.mark.integration, pytest.mark.slow]


@pytest.mark.parametrize("broker", ["mosquitto", "amqtt"])
def test_demo_runs_and_prints_a_json_summary_last(broker: str) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "floodmesh", "demo", "--duration", "14", "--summary-json", "--port", "0",
         "--broker", broker],
        capture_output=True, text=True, timeout=180, check=False,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    summary = json.loads(proc.stdout.strip().splitlines()[-1])
    assert summary["broker"] == broker
    assert summary["readings_stored"] > 0
    assert summary["readings_stored"] == summary["readings_sent"]
    assert summary["sos_cases"] >= 1
    assert summary["acks_delivered"] >= 1
    # The isolated ward answered its SOS alone, its officer took it, and the IOC caught up after.
    assert summary["isolation"] == "restored"
    assert summary["ward_local_cases"] >= 1
    assert summary["officer_replies"] >= 1
    assert summary["officer_commands"] >= 1  # sent as PKI direct messages from the enrolled radios
    assert summary["sos_cases"] == summary["sos_presses"]
    assert summary["rogue_transmissions"] >= 1
    assert summary["rejected"] == summary["rogue_transmissions"]
    assert "readings/s" in proc.stderr
    # The dashboard login is in the human banner only, never in the JSON summary.
    password = re.search(r"log in as demo-operator / (\S+)", proc.stderr)
    assert password is not None, proc.stderr[:2000]
    assert password.group(1) not in proc.stdout


def test_gateway_refuses_a_radio_it_cannot_speak_to() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "floodmesh", "gateway", "--ward", "1", "--gateway", "g", "--radio", "carrier-pigeon",
         "--registry", "nodes.json"], capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 2
    assert "radio must be serial:/dev/ttyUSB0 or tcp:HOST[:PORT]" in proc.stderr
