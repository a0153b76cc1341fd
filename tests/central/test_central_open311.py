"""Open311 GeoReport v2 mapped onto cases."""

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
from tests.central.central_testkit import NOW, WARD

with warnings.catch_warnings():
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from fastapi.testclient import TestClient

BASE = "/open311/v2"


@pytest.fixture
def client(
    processor: UplinkProcessor, store: CentralStore, locator: WardLocator, stations: dict[str, Station]
) -> Iterator[tuple[TestClient, str, str]]:
    operator = add_user(store, "hotline", "operator", None, None, NOW)
    official = add_user(store, "kimlong", "ward", WARD, None, NOW)
    app = create_app(store, locator, stations, lambda: True, processor=processor, clock=lambda: NOW)
    with TestClient(app) as c:
        yield c, operator, official


@pytest.mark.unit
def test_services(client: tuple[TestClient, str, str]) -> None:
    c, _, _ = client
    codes = [s["service_code"] for s in c.get(f"{BASE}/services.json").json()]
    assert codes == ["help", "medical", "trapped", "evacuation", "supplies"]


@pytest.mark.unit
def test_post_and_get_requests(client: tuple[TestClient, str, str], store: CentralStore) -> None:
    c, operator, official = client
    form = {"service_code": "trapped", "lat": "16.47867", "long": "107.57722", "attribute[people]": "6"}
    assert c.post(f"{BASE}/requests.json", data=form).status_code == 401
    created = c.post(f"{BASE}/requests.json", data={**form, "api_key": operator})
    assert created.status_code == 201
    (receipt,) = created.json()
    rid = receipt["service_request_id"]
    (case,) = store.cases()
    assert (str(case.case_number), case.ward_code, case.kind, case.people) == (rid, "19753", 2, 6)
    assert [e.actor for e in store.case_events(case.case_number)] == ["operator:hotline"]
    (public,) = c.get(f"{BASE}/requests/{rid}.json").json()
    assert (public["status"], public["agency_responsible"], public["service_code"]) == (
        "open", "UBND Phường Phú Xuân", "trapped"
    )
    assert public["lat"] is None  # the public does not get a caller's location
    (staff,) = c.get(f"{BASE}/requests/{rid}.json", headers={"Authorization": f"Bearer {operator}"}).json()
    assert staff["lat"] == pytest.approx(16.47867)
    assert c.get(f"{BASE}/requests.json", params={"status": "closed"}).json() == []
    assert [r["service_request_id"] for r in c.get(f"{BASE}/requests.json", params={"status": "open"}).json()] == [rid]
    assert c.get(f"{BASE}/requests/999.json").status_code == 404
    # A ward official without coordinates files in their own ward; another ward's location is refused.
    bearer = {"Authorization": f"Bearer {official}"}
    own = c.post(f"{BASE}/requests.json", json={"service_code": "supplies"}, headers=bearer)
    assert own.status_code == 201
    assert store.cases()[0].ward_code == WARD
    elsewhere = c.post(f"{BASE}/requests.json", data={**form, "api_key": official})
    assert elsewhere.status_code == 404
    assert c.post(f"{BASE}/requests.json", data={"service_code": "pizza", "api_key": operator}).status_code == 400
    assert c.post(f"{BASE}/requests.json", data={"service_code": "help", "api_key": operator}).status_code == 400
    assert c.post(f"{BASE}/requests.json", data={**form, "lat": "x", "api_key": operator}).status_code == 400


@pytest.mark.unit
def test_a_key_in_the_query_string_is_refused_and_counted(client: tuple[TestClient, str, str]) -> None:
    c, operator, _ = client
    for method, path in (("GET", "requests.json"), ("GET", "requests/1.json"), ("POST", "requests.json")):
        response = c.request(method, f"{BASE}/{path}", params={"api_key": operator},
                             data={"service_code": "help", "lat": "16.47", "long": "107.57"})
        assert response.status_code == 400, (method, path)
        assert "Authorization: Bearer" in response.json()["detail"]
    assert c.get("/api/stats").json()["api_refused_by_reason"] == {"token_in_query": 3}
