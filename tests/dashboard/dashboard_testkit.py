"""What the dashboard's tests share: a central on a real Mosquitto, users, gateways that publish SOS and
river levels, and Playwright driving Debian's chromium (Playwright's own browser download is not used)."""

import os
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from playwright.sync_api import Page

from central.service import CentralService
from floodmesh.broker import RunningBroker
from protocol import frames, topics
from protocol.envelopes import GatewayStatus, Uplink
from protocol.registry import NodeRecord, NodeRegistry
from tests.central.central_testkit import BUTTON_KEY, SENSOR_ID, SENSOR_KEY
from tests.mqtt_peer import stand_in_gateway

CHROMIUM = Path("/usr/bin/chromium")
KIM_LONG_WARD = "19774"  # the button vectors' ward
OTHER_WARD = "19813"  # Kim Long gauge's ward, with a button of its own
BUTTON_A = 0x0B000042
BUTTON_B = 0x0B000043
BUTTON_C = 0x0B000044  # presses of one button within minutes merge into its open case: one button per test
BUTTON_D = 0x0B000045
PASSWORD = "correct horse battery"  # noqa: S105 - a test user's password


def registry() -> NodeRegistry:
    """Buttons in two wards and the Kim Long gauge."""
    return NodeRegistry([
        NodeRecord(SENSOR_ID, "water_level", SENSOR_KEY, OTHER_WARD, 16.41667, 107.5667, "kim_long"),
        NodeRecord(BUTTON_A, "sos_button", BUTTON_KEY, KIM_LONG_WARD, 16.402215, 107.548547),
        NodeRecord(BUTTON_B, "sos_button", BUTTON_KEY, OTHER_WARD, 16.41667, 107.5667),
        NodeRecord(BUTTON_C, "sos_button", BUTTON_KEY, OTHER_WARD, 16.4170, 107.5670),
        NodeRecord(BUTTON_D, "sos_button", BUTTON_KEY, OTHER_WARD, 16.4165, 107.5665),
    ])


def artifacts_dir() -> Path:
    """Where screenshots go: $FLOODMESH_ARTIFACTS, else tests/artifacts/ (git-ignored)."""
    where = Path(os.environ.get("FLOODMESH_ARTIFACTS") or Path(__file__).resolve().parents[1] / "artifacts")
    where.mkdir(parents=True, exist_ok=True)
    return where if os.access(where, os.W_OK) else Path(tempfile.mkdtemp(prefix="floodmesh-artifacts-"))


class Gateway:
    """A stand-in ward gateway with its own broker identity, publishing radio frames as uplinks."""

    def __init__(self, broker: RunningBroker, ward: str) -> None:
        self.ward, self.name = ward, f"gw-{ward}"
        self.client, self.inbox = stand_in_gateway(broker, ward, self.name)
        self._msg_id = 0

    def send(self, frame: frames.Frame, key: bytes) -> None:
        """Publish one frame at QoS 1 and wait for the broker's PUBACK."""
        self._msg_id += 1
        env = Uplink(msg_id=self._msg_id, gateway=self.name, ward=self.ward, received_at=datetime.now(UTC),
                     frame=frames.encode(frame, key).hex())
        topic = topics.uplink(self.ward, self.name, frames.TYPE_NAMES[frames.encode(frame, key)[1]])
        self.client.publish(topic, env.model_dump_json(), qos=1).wait_for_publish(10)

    def sos(self, node_id: int, seq: int, kind: int = 1, people: int = 2) -> None:
        """A button's SOS (kind 1: medical)."""
        now = int(datetime.now(UTC).timestamp())
        self.send(frames.Frame(node_id, 1, seq, now, frames.Sos(kind, people)), BUTTON_KEY)

    def level(self, seq: int, distance_mm: int, minutes_ago: int = 0) -> None:
        """A Kim Long gauge reading (level = 8.0 m - distance) taken ``minutes_ago``."""
        at = int(datetime.now(UTC).timestamp()) - 60 * minutes_ago
        self.send(frames.Frame(SENSOR_ID, 1, seq, at, frames.WaterLevel(distance_mm, 90)), SENSOR_KEY)

    def status(self, online: bool, outbox_pending: int = 0) -> None:
        """Publish the gateway's own retained status (``online=False`` as its last will says it: no time)."""
        env = GatewayStatus(gateway=self.name, ward=self.ward, online=online, outbox_pending=outbox_pending,
                            radio="up" if online else None, at=datetime.now(UTC) if online else None)
        topic = topics.status(self.ward, self.name)
        self.client.publish(topic, env.model_dump_json(), qos=1, retain=True).wait_for_publish(10)

    def close(self) -> None:
        """Disconnect."""
        self.client.disconnect()
        self.client.loop_stop()


def log_in(page: Page, central: CentralService, user: str) -> None:
    """Open the dashboard, log in, wait until the first render is complete."""
    page.goto(central.api_url + "/")
    page.fill("#login-user", user)
    page.fill("#login-password", PASSWORD)
    page.click("#login button[type=submit]")
    page.wait_for_selector("body[data-ready='1']", timeout=15_000)
    page.wait_for_selector("#live.on", timeout=10_000)


def screenshot(page: Page, name: str) -> Path:
    """Save a screenshot as a test artifact and say where."""
    path = artifacts_dir() / f"dashboard-{name}.png"
    page.screenshot(path=str(path))
    print(f"screenshot: {path}")
    return path
