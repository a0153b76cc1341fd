"""Case API with roles: IOC operator, ward official (own ward only), gateway (read own ward), public."""

import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

import pytest
from starlette.exceptions import StarletteDeprecationWarning

from central.api import create_app
from central.cases import directory
from central.geo.ward_locator import WardLocator
from central.ingest.processor import UplinkProcessor
from central.store.base import CentralStore
from central.store.users import UserError, add_user, revoke_user
from central.telemetry.stations import Station
from protocol import frames
from protocol.envelopes import WardDirectory
from tests.central.central_testkit import LOOSE_BUTTON_ID, NOW, WARD, encode, make_uplink, vector_hex

with warnings.catch_warnings():
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from fastapi.testclient import TestClient

PHU_XUAN = "19753"


@dataclass
class Api:
    client: TestClient
    tokens: dict[str, str]
    published: list[tuple[str, str, bool]]
    clock: list[datetime]

    def as_(self, who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[who]}"} if who != "public" else {}


@pytest.fixture
def api(
    processor: UplinkProcessor, store: CentralStore, locator: WardLocator, stations: dict[str, Station],
    clock: list[datetime],
) -> Iterator[Api]:
    directory.install(store, directory.seed(locator, {}), NOW)
    processor.process_batch(
        [
            make_uplink(vector_hex("sos_medical_gps"), 1),  # case 1, Phú Xuân (GPS), medical
            make_uplink(encode(frames.Sos(4, 1), 30, node_id=LOOSE_BUTTON_ID), 2),  # case 2, Kim Long, supplies
        ]
    )
    tokens = {
        "ioc": add_user(store, "ioc", "operator", None, "hunter2", NOW),
        "kimlong": add_user(store, "kimlong", "ward", WARD, None, NOW),
        "gw": add_user(store, "gw", "gateway", WARD, None, NOW),
    }
    published: list[tuple[str, str, bool]] = []
    app = create_app(store, locator, stations, lambda: True, processor=processor, publish=published.extend,
                     clock=lambda: clock[0])
    with TestClient(app, client=("127.0.0.1", 50000)) as c:
        yield Api(c, tokens, published, clock)


@pytest.mark.unit
def test_public_sees_aggregates_only(api: Api) -> None:
    for path in ("/api/stats", "/api/stations", "/api/wards", "/api/alerts", "/healthz", "/api/accountability"):
        assert api.client.get(path).status_code == 200, path
    for path in ("/api/cases", "/api/cases/1", "/api/directory", f"/api/directory/{WARD}"):
        response = api.client.get(path)
        assert response.status_code == 401, path
        assert response.headers["www-authenticate"].startswith("Bearer")
    assert api.client.post("/api/cases/1/events", json={"kind": "acknowledged"}).status_code == 401


@pytest.mark.unit
def test_bad_credentials_are_401(api: Api, store: CentralStore) -> None:
    for header in ("Bearer ioc.wrong", "Bearer nobody.x", "Bearer nodot", "Basic !!!", "Digest x"):
        assert api.client.get("/api/cases", headers={"Authorization": header}).status_code == 401, header
    assert api.client.get("/api/cases", auth=("ioc", "hunter2")).status_code == 200  # HTTP Basic password
    assert api.client.get("/api/cases", auth=("ioc", "hunter3")).status_code == 401
    revoke_user(store, "ioc", NOW)
    assert api.client.get("/api/cases", headers=api.as_("ioc")).status_code == 401
    with pytest.raises(UserError, match="need a ward"):
        add_user(store, "x", "ward", None, None, NOW)


@pytest.mark.unit
def test_ward_official_sees_only_their_ward(api: Api) -> None:
    mine = api.client.get("/api/cases", headers=api.as_("kimlong")).json()
    assert [c["case_number"] for c in mine] == [2]
    assert api.client.get("/api/cases", params={"ward": PHU_XUAN}, headers=api.as_("kimlong")).json() == []
    assert api.client.get("/api/cases/1", headers=api.as_("kimlong")).status_code == 404
    assert api.client.post("/api/cases/1/events", json={"kind": "acknowledged"},
                           headers=api.as_("kimlong")).status_code == 404
    assert [c["case_number"] for c in api.client.get("/api/cases", headers=api.as_("ioc")).json()] == [2, 1]
    assert [d["ward"] for d in api.client.get("/api/directory", headers=api.as_("kimlong")).json()] == [WARD]


@pytest.mark.unit
def test_gateway_reads_its_ward_and_writes_nothing(api: Api) -> None:
    assert api.client.get(f"/api/directory/{WARD}", headers=api.as_("gw")).status_code == 200
    assert api.client.get(f"/api/directory/{PHU_XUAN}", headers=api.as_("gw")).status_code == 404
    assert api.client.get("/api/cases/2", headers=api.as_("gw")).status_code == 200
    refused = api.client.post("/api/cases/2/events", json={"kind": "acknowledged"}, headers=api.as_("gw"))
    assert refused.status_code == 403


@pytest.mark.unit
def test_transitions_and_history(api: Api) -> None:
    h = api.as_("kimlong")
    api.clock[0] = NOW + timedelta(minutes=4)
    r = api.client.post("/api/cases/2/events", json={"kind": "acknowledged", "note": "on my way"}, headers=h)
    assert r.status_code == 201
    assert r.json()["state"] == "acknowledged"
    conflict = api.client.post("/api/cases/2/events", json={"kind": "acknowledged"}, headers=h)
    assert (conflict.status_code, conflict.json()["detail"]) == (409, "cannot be acknowledged when acknowledged")
    assert api.client.post("/api/cases/2/events", json={"kind": "rated", "data": {"rating": 5}},
                           headers=h).status_code == 409
    for kind in ("dispatched", "resolved"):
        api.clock[0] += timedelta(minutes=10)
        assert api.client.post("/api/cases/2/events", json={"kind": kind}, headers=h).status_code == 201
    bad = api.client.post("/api/cases/2/events", json={"kind": "rated", "data": {"rating": 6}}, headers=h)
    assert (bad.status_code, bad.json()["detail"]) == (409, "a rating is an integer from 1 to 5")
    assert api.client.post("/api/cases/2/events", json={"kind": "rated", "data": {"rating": 4}},
                           headers=h).status_code == 201
    assert api.client.post("/api/cases/2/events", json={"kind": "created"}, headers=h).status_code == 422
    detail = api.client.get("/api/cases/2", headers=h).json()
    assert [e["kind"] for e in detail["events"]] == ["created", "acknowledged", "dispatched", "resolved", "rated"]
    assert detail["events"][1]["actor"] == "ward:kimlong"
    assert detail["events"][1]["data"] == {"note": "on my way"}
    assert (detail["state"], detail["rating"], detail["due_at"]) == ("resolved", 4, None)
    assert api.client.get("/api/cases/99", headers=h).status_code == 404


@pytest.mark.unit
def test_filters(api: Api) -> None:
    h = api.as_("ioc")
    assert [c["case_number"] for c in api.client.get("/api/cases", params={"priority": 4}, headers=h).json()] == [2]
    assert api.client.get("/api/cases", params={"overdue": True}, headers=h).json() == []
    api.clock[0] = NOW + timedelta(minutes=11)
    overdue = api.client.get("/api/cases", params={"overdue": True}, headers=h).json()
    assert [(c["case_number"], c["overdue"]) for c in overdue] == [(2, True), (1, True)]
    assert api.client.get("/api/cases", params={"overdue": False}, headers=h).json() == []
    assert api.client.get("/api/cases", params={"state": "resolved"}, headers=h).json() == []
    assert api.client.get("/api/cases", params={"priority": 9}, headers=h).status_code == 422


@pytest.mark.unit
def test_accountability_per_authority(api: Api) -> None:
    h = api.as_("ioc")
    api.clock[0] = NOW + timedelta(minutes=5)
    api.client.post("/api/cases/2/events", json={"kind": "acknowledged"}, headers=h)
    api.clock[0] = NOW + timedelta(minutes=65)
    api.client.post("/api/cases/2/events", json={"kind": "resolved"}, headers=h)
    api.client.post("/api/cases/2/events", json={"kind": "rated", "data": {"rating": 3}}, headers=h)
    rows = {r["ward_code"]: r for r in api.client.get("/api/accountability", params={"since": "2025-11-15T00:00:00Z"}
                                                      ).json()}
    assert rows[WARD] | {"authority": ""} == {
        "authority": "", "ward_code": WARD, "received": 1, "acknowledged": 1, "acknowledged_in_time": 1,
        "resolved": 1, "cancelled": 0, "open": 0, "overdue": 0, "escalated": 0,
        "mean_time_to_acknowledge_s": 300.0, "mean_time_to_resolve_s": 3900.0, "mean_satisfaction": 3.0, "ratings": 1,
    }
    assert (rows[PHU_XUAN]["open"], rows[PHU_XUAN]["overdue"], rows[PHU_XUAN]["acknowledged_in_time"]) == (1, 1, 0)
    assert api.client.get("/api/accountability", params={"since": "2025-11-16T00:00:00Z"}).json() == []


@pytest.mark.unit
def test_directory_edit_is_published_retained(api: Api) -> None:
    body = WardDirectory(ward=WARD, authority="UBND Phường Kim Long", escalation=["Hue IOC"],
                         officers=[{"name": "Anh Minh", "phone": "+84 1", "radio_node_id": 0x0C000001}])  # type: ignore[list-item]
    assert api.client.put(f"/api/directory/{WARD}", json=body.model_dump(mode="json"),
                          headers=api.as_("gw")).status_code == 403
    assert api.client.put(f"/api/directory/{PHU_XUAN}", json=body.model_dump(mode="json"),
                          headers=api.as_("kimlong")).status_code == 404
    ok = api.client.put(f"/api/directory/{WARD}", json=body.model_dump(mode="json"), headers=api.as_("kimlong"))
    assert ok.status_code == 200
    assert api.published == [(f"floodmesh/v1/{WARD}/directory", body.model_dump_json(), True)]
    got = api.client.get(f"/api/directory/{WARD}", headers=api.as_("ioc")).json()
    assert got["officers"][0]["radio_node_id"] == 0x0C000001
    mismatch = api.client.put(f"/api/directory/{WARD}", json={**body.model_dump(mode="json"), "ward": PHU_XUAN},
                              headers=api.as_("ioc"))
    assert mismatch.status_code == 422
