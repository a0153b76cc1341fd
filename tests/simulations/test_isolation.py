"""A ward cut off from the IOC keeps answering its residents, and the IOC learns everything after.

Real parts throughout: Mosquitto, central with its API, a gateway, the firmware's SOS logic on a
virtual button, and an official's handheld on the simulated air. Only the backhaul is cut, by a
proxy between the gateway and the broker.
"""

import base64
import csv
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from central.core.config import DATA_DIR, CentralSettings
from central.service import CentralService
from central.store.users import add_user
from edge_nodes.fleet import ButtonSite, build_fleet
from edge_nodes.virtual import VirtualSosButton
from floodmesh.broker import RunningBroker, settings_fields
from gateway.radio.sim import Air, SimRadioLink
from gateway.service import GatewayService, GatewaySettings
from protocol.registry import NodeRegistry
from simulations.backhaul import BackhaulLink
from tests.mqtt_peer import wait_until
from tests.simulations.ioc_client import ioc_client

pytestmark = pytest.mark.integration

WARD, GW, GATEWAY_RADIO, OFFICER = "19774", "gw-19774", 0x0F000001, 0x0D000001
OFFICER_KEY = X25519PrivateKey.generate()  # the officer's handheld's own PKI keypair


@dataclass
class Ward:
    air: Air
    registry: NodeRegistry
    gateway: GatewayService
    central: CentralService
    backhaul: BackhaulLink
    api: httpx.Client
    inbox: list[str]
    radio: SimRadioLink

    def officer_says(self, text: str) -> None:
        """A PKI direct message from the officer's handheld to the gateway's radio."""
        self.air.transmit_text(OFFICER, text, to_id=GATEWAY_RADIO, sender_key=OFFICER_KEY)


def _authorities_with_officer(tmp_path: Path) -> Path:
    with (DATA_DIR / "authorities.csv").open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    for row in rows:
        if row["ward_code"] == WARD:
            row["radio_node_id"] = f"{OFFICER:08x}"
    out = tmp_path / "authorities.csv"
    with out.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return out


@pytest.fixture
def ward(tmp_path: Path, mosquitto: RunningBroker) -> Iterator[Ward]:
    registry = build_fleet([], [ButtonSite(WARD)], demo_secret=b"isolation")
    registry.save(tmp_path / "nodes.json")
    central = CentralService(CentralSettings(
        db_path=tmp_path / "central.db", registry_path=tmp_path / "nodes.json",
        **settings_fields(mosquitto.endpoint_for_central()), api_port=0,
        authorities_path=_authorities_with_officer(tmp_path), allow_demo_registry=True))
    central.start()
    backhaul = BackhaulLink(mosquitto.host, mosquitto.port)
    air = Air()
    via_backhaul = settings_fields(mosquitto.add_gateway(WARD, GW)) | {"broker_host": "127.0.0.1",
                                                                        "broker_port": backhaul.port}
    settings = GatewaySettings(WARD, GW, tmp_path / "outbox.db", **via_backhaul, retry_s=5)
    radio = SimRadioLink(air, GATEWAY_RADIO)
    gateway = GatewayService(settings, radio, registry)
    inbox: list[str] = []
    air.attach_text(OFFICER, lambda heard: inbox.append(heard.text))
    gateway.start()
    api = ioc_client(central)
    yield Ward(air, registry, gateway, central, backhaul, api, inbox, radio)
    api.close()
    gateway.stop()
    central.stop()
    backhaul.close()


def _enrol_officer_radio(ward: Ward) -> None:
    """The IOC operator pins the officer's handheld (node id + PKI public key) through the API."""
    assert ward.central.store is not None
    token = add_user(ward.central.store, "ioc-operator", "operator", None, None, datetime.now(UTC))
    officer = ward.api.get(f"/api/directory/{WARD}", headers={"Authorization": f"Bearer {token}"}).json()["officers"][0]
    key = base64.b64encode(OFFICER_KEY.public_key().public_bytes_raw()).decode()
    enrolled = ward.api.put(f"/api/wards/{WARD}/officers/{officer['name']}/radio",
                            json={"radio_node_id": OFFICER, "public_key": key},
                            headers={"Authorization": f"Bearer {token}"})
    assert enrolled.status_code == 200, enrolled.text


def test_an_isolated_ward_answers_and_the_ioc_merges_its_history(ward: Ward) -> None:
    # Before the floods: the IOC enrols the officer's radio; the ward's directory, with the pinned key,
    # comes from central and is cached at the gateway.
    _enrol_officer_radio(ward)
    pinned = {OFFICER: OFFICER_KEY.public_key().public_bytes_raw()}
    wait_until(lambda: ward.gateway.ward.directory.pinned_keys() == pinned, what="the pinned key synced")

    ward.backhaul.cut()
    wait_until(lambda: ward.gateway.stats()["connected"] is False, what="the gateway cut off")
    button = VirtualSosButton(next(iter(ward.registry)), ward.air)
    button.press(1_764_000_000.0, kind=2, people=4, vulnerable=2)

    wait_until(lambda: button.led == "registered", what="the ward's own answer on the button")
    wait_until(lambda: len(ward.inbox) == 1, what="the case on the officer's radio")
    assert ward.inbox[0].startswith("SOS L1: trapped, 4 people (elderly)")
    ward.officer_says("L1 ACK")
    wait_until(lambda: button.led == "acknowledged", what="the button showing the officer has it")
    assert ward.api.get("/api/cases").json() == []  # the IOC knows nothing yet

    ward.backhaul.restore()
    wait_until(lambda: len(ward.api.get("/api/cases").json()) == 1, timeout_s=30, what="the case at the IOC")
    case = ward.api.get("/api/cases").json()[0]
    assert case["ward_code"] == WARD

    def events() -> list[dict[str, object]]:
        detail = ward.api.get(f"/api/cases/{case['case_number']}").json()
        return [e for e in detail["events"] if e["ignored"] is None]

    def from_gateway() -> list[object]:
        return [e["kind"] for e in events() if not str(e["actor"]).startswith("central")]

    wait_until(lambda: "acknowledged" in from_gateway(), timeout_s=30, what="the ward's history merged")
    # The union keeps each event once: the ward's own record of the case, next to central's.
    assert sorted(map(str, from_gateway())) == ["acknowledged", "created", "notified"]
    ids = [e["event_id"] for e in events()]
    assert len(ids) == len(set(ids))
    assert ward.api.get(f"/api/cases/{case['case_number']}").json()["state"] == "acknowledged"
    wait_until(lambda: ward.gateway.stats()["outbox_pending"] == 0, what="the outbox drained")


def test_the_gateways_panel_shows_the_cut_ward_isolated_from_the_gateways_own_status(ward: Ward) -> None:
    def panel() -> dict[str, object]:
        rows = [g for g in ward.api.get("/api/dashboard/gateways").json() if g["gateway"] == GW]
        return rows[0] if rows else {}

    wait_until(lambda: panel().get("state") == "online", what="the gateway's own status at the IOC")
    assert (panel()["online"], panel()["radio"], panel()["outbox_pending"]) == (True, "up", 0)
    ward.radio.state = "down"  # the radio's serial cable is pulled: the gateway says so at once
    wait_until(lambda: panel().get("radio") == "down", what="the radio link change at the IOC")

    ward.backhaul.cut()  # the broker loses the connection and publishes the gateway's last will
    wait_until(lambda: panel().get("state") == "isolated", what="the ward isolated on the panel")
    assert panel()["online"] is False
    assert panel()["radio"] == "down"  # the will keeps the last radio state reported

    ward.radio.state = "up"
    ward.backhaul.restore()
    wait_until(lambda: panel().get("state") == "online", timeout_s=30, what="the ward back online")
    assert panel()["radio"] == "up"
