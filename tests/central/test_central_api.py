"""The REST API over a store filled by the processor, through FastAPI's TestClient."""

import warnings
from collections.abc import Iterator

import pytest
from starlette.exceptions import StarletteDeprecationWarning

from central.api import create_app
from central.geo.ward_locator import WardLocator
from central.ingest.processor import UplinkProcessor
from central.store.base import CentralStore
from central.store.users import add_user
from central.telemetry.stations import Station
from protocol import frames
from tests.central.central_testkit import NOW, encode, make_uplink, vector_hex

with warnings.catch_warnings():
    # Starlette >= 1.x wants httpx2 for its TestClient; pyproject's dev extra installs httpx, which still works.
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from fastapi.testclient import TestClient


@pytest.fixture
def client(
    processor: UplinkProcessor, store: CentralStore, locator: WardLocator, stations: dict[str, Station]
) -> Iterator[TestClient]:
    processor.process_batch(
        [
            make_uplink(vector_hex("sos_medical_gps"), 1),  # case 1, Phú Xuân, medical, pregnant+elderly
            make_uplink(vector_hex("sos_medical_gps"), 2),  # duplicate
            make_uplink(encode(frames.Sos(3, 5), 30, node_id=0x0B000099), 3),  # case 2, gateway ward
            make_uplink(vector_hex("water_level_kim_long"), 4, ward="19813"),  # 5.65 m at Kim Long: BD3
            make_uplink(vector_hex("bad_tag_flipped_bit"), 5),
        ]
    )
    token = add_user(store, "ioc", "operator", None, None, NOW)
    app = create_app(store, locator, stations, lambda: True, clock=lambda: NOW)
    with TestClient(app, client=("127.0.0.1", 50000), headers={"Authorization": f"Bearer {token}"}) as c:
        yield c


@pytest.mark.unit
def test_healthz(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok", "mqtt_connected": True}


@pytest.mark.unit
def test_cases_newest_first_with_names(client: TestClient) -> None:
    cases = client.get("/api/cases").json()
    assert [c["case_number"] for c in cases] == [2, 1]
    first = cases[1]
    assert first["node_id"] == "0b000042"
    assert (first["kind"], first["people"], first["vulnerable"]) == ("medical", 3, ["pregnant", "elderly"])
    assert (first["ward_code"], first["authority"], first["located_by"]) == ("19753", "UBND Phường Phú Xuân", "gps")
    assert first["created_at"].startswith("2025-11-15T12:00:00")
    assert set(first) == {
        "case_number", "node_id", "ward_code", "ward_name", "authority", "kind", "people", "vulnerable",
        "lat", "lon", "located_by", "state", "created_at", "presses", "case_ref", "priority", "escalation_level",
        "escalated_to", "due_at", "overdue", "rating",
    }
    assert (first["case_ref"], first["priority"], first["overdue"]) == ("sos:0b000042:1:2", 2, False)
    assert [c["case_number"] for c in client.get("/api/cases", params={"ward": "19753"}).json()] == [1]
    assert client.get("/api/cases", params={"state": "cancelled"}).json() == []
    assert client.get("/api/cases", params={"state": "lost"}).status_code == 422


@pytest.mark.unit
def test_stations_show_level_and_alert(client: TestClient) -> None:
    by_id = {s["id"]: s for s in client.get("/api/stations").json()}
    kim_long = by_id["kim_long"]
    assert kim_long["level_m"] == pytest.approx(5.65)
    assert (kim_long["alert"], kim_long["ward"]) == ("BD3", "19813")
    assert kim_long["alert_levels_m"] == {"BD1": 1.0, "BD2": 2.0, "BD3": 3.5}
    assert (by_id["phu_oc"]["level_m"], by_id["phu_oc"]["alert"]) == (None, "none")


@pytest.mark.unit
def test_station_levels(client: TestClient) -> None:
    levels = client.get("/api/stations/kim_long/levels", params={"limit": 5}).json()
    assert [(r["level_m"], r["node_id"]) for r in levels] == [(pytest.approx(5.65), "0a000001")]
    missing = client.get("/api/stations/hoi_an/levels")
    assert missing.status_code == 404
    assert "hoi_an" in missing.json()["detail"]
    assert client.get("/api/stations/kim_long/levels", params={"limit": 0}).status_code == 422
    assert client.get("/api/stations/kim_long/levels", params={"limit": "many"}).status_code == 422


@pytest.mark.unit
def test_stats_counts(client: TestClient) -> None:
    assert client.get("/api/stats").json() == {
        "readings_stored": 1,
        "sos_cases": 2,
        "open_cases": 2,
        "acks_sent": 3,
        "duplicates": 1,
        "rejected": 1,
        "rejected_by_reason": {"bad_tag": 1},
        "flagged_by_reason": {"timestamp": 1},  # the vector's 2023 sensor clock, heard in 2025
        "alerts": 0,
        "api_refused": 0,
        "api_refused_by_reason": {},
        "telemetry_dropped_by_reason": {},
        "rules_evaluated": 0,
        "database_set_aside": None,  # the database opened at start was sound
    }


@pytest.mark.unit
def test_wards_geojson(client: TestClient) -> None:
    doc = client.get("/api/wards").json()
    assert doc["type"] == "FeatureCollection"
    assert len(doc["features"]) == 40
    kim_long = next(f for f in doc["features"] if f["properties"]["code"] == "19774")
    assert kim_long["properties"]["authority"] == "UBND Phường Kim Long"


@pytest.mark.unit
def test_dashboard_is_offline(client: TestClient) -> None:
    page = client.get("/")
    assert page.status_code == 200
    assert "default-src 'self'" in page.headers["content-security-policy"]
    app = client.get("/dashboard/app.js").text
    assert "/api/wards" in app
    for text in (page.text, app, client.get("/dashboard/api.js").text):  # the browser tests: tests/dashboard
        assert "http://" not in text
        assert "https://" not in text
