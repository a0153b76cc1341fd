"""The whole loop on a real Mosquitto: button and gauge -> radio -> gateway -> MQTT -> central -> API,
and central's ACK back to the button's LED."""

import random
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from central.core.config import CentralSettings
from central.service import CentralService
from edge_nodes.fleet import ButtonSite, StationSite, build_fleet
from edge_nodes.virtual import VirtualSosButton, VirtualWaterLevelSensor
from floodmesh.broker import RunningBroker, settings_fields
from gateway.radio.sim import Air, SimRadioLink
from gateway.service import GatewayService, GatewaySettings
from protocol import frames
from protocol.registry import NodeRegistry
from simulations.ward_sites import WardShapes, load_stations
from tests.mqtt_peer import wait_until
from tests.simulations.ioc_client import ioc_client

pytestmark = pytest.mark.integration

KIM_LONG_WARD = "19774"


@dataclass
class Loop:
    air: Air
    registry: NodeRegistry
    central: CentralService
    gateway: GatewayService
    api: httpx.Client


@pytest.fixture
def loop(tmp_path: Path, mosquitto: RunningBroker) -> Iterator[Loop]:
    station = next(s for s in load_stations() if s.station_id == "kim_long")
    registry = build_fleet(
        [StationSite(station.station_id, station.ward, station.lat, station.lon)],
        [ButtonSite(KIM_LONG_WARD), ButtonSite(KIM_LONG_WARD)],
        demo_secret=b"e2e",
    )
    registry.save(tmp_path / "nodes.json")
    central = CentralService(CentralSettings(
        db_path=tmp_path / "central.db", registry_path=tmp_path / "nodes.json",
        **settings_fields(mosquitto.endpoint_for_central()), api_port=0, allow_demo_registry=True))
    central.start()
    air = Air()
    gateway = GatewayService(
        GatewaySettings(KIM_LONG_WARD, "gw-kim-long", tmp_path / "outbox.db",
                        **settings_fields(mosquitto.add_gateway(KIM_LONG_WARD, "gw-kim-long"))),
        SimRadioLink(air, 0x0F000001), registry)
    gateway.start()
    api = ioc_client(central)
    wait_until(lambda: gateway.stats()["connected"] is True, what="gateway online")
    wait_until(lambda: api.get("/healthz").json().get("mqtt_connected") is True, what="central online")
    yield Loop(air, registry, central, gateway, api)
    api.close()
    gateway.stop()
    central.stop()


def test_sos_becomes_a_case_in_its_ward_and_the_button_shows_registered(loop: Loop) -> None:
    rec = next(r for r in loop.registry if r.kind == "sos_button")
    button = VirtualSosButton(rec, loop.air)
    lat, lon = WardShapes().random_point(KIM_LONG_WARD, random.Random(1))

    button.press(time.time(), kind=1, people=4, vulnerable=2, gps=(lat, lon))
    assert button.led == "sending"
    wait_until(lambda: button.led == "registered", what="the button's LED to show registered")

    cases = loop.api.get("/api/cases").json()
    assert len(cases) == 1
    case = cases[0]
    assert case["case_number"] == button.case_number
    assert case["ward_code"] == KIM_LONG_WARD
    assert case["located_by"] == "gps"
    assert (case["kind"], case["people"], case["vulnerable"]) == ("medical", 4, ["elderly"])
    assert "Kim Long" in case["authority"]


def test_sos_without_gps_is_placed_in_the_gateways_ward(loop: Loop) -> None:
    rec = [r for r in loop.registry if r.kind == "sos_button"][1]
    button = VirtualSosButton(rec, loop.air)
    button.press(time.time(), kind=2, people=1)
    wait_until(lambda: button.led == "registered", what="registered")
    case = loop.api.get("/api/cases").json()[0]
    assert (case["ward_code"], case["located_by"]) == (KIM_LONG_WARD, "gateway")


def test_a_reading_is_served_as_a_water_level(loop: Loop) -> None:
    station = next(s for s in load_stations() if s.station_id == "kim_long")
    rec = next(r for r in loop.registry if r.kind == "water_level")
    sensor = VirtualWaterLevelSensor(rec, loop.air, station.datum_m, lambda _t: 2.345)
    sensor.tick(time.time())

    def served() -> bool:
        return bool(loop.api.get("/api/stations/kim_long/levels").json())

    wait_until(served, what="the level in the API")
    levels = loop.api.get("/api/stations/kim_long/levels").json()
    assert levels[0]["level_m"] == pytest.approx(2.345, abs=0.001)
    stations = {s["id"]: s for s in loop.api.get("/api/stations").json()}
    assert stations["kim_long"]["level_m"] == pytest.approx(2.345, abs=0.001)
    assert stations["kim_long"]["alert"] == "BD2"
    wait_until(lambda: loop.gateway.stats()["outbox_pending"] == 0, what="central's end-to-end ack")


def test_spoofed_frames_are_refused_and_the_loop_keeps_working(loop: Loop) -> None:
    rec = next(r for r in loop.registry if r.kind == "sos_button")
    forged = frames.encode(frames.Frame(rec.node_id, 1, 1, int(time.time()), frames.Sos(1, 9)), b"x" * 16)
    loop.air.transmit(rec.node_id, forged)
    button = VirtualSosButton(rec, loop.air)
    button.press(time.time(), kind=1)
    wait_until(lambda: button.led == "registered", what="the real button registered")
    assert loop.gateway.stats()["rejected_by_reason"] == {"bad_tag": 1}
    cases = loop.api.get("/api/cases").json()
    assert [c["people"] for c in cases] == [1]
