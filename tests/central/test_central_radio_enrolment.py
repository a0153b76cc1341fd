"""Enrolling a duty officer's radio (pinning its PKI key) is the IOC operator's act, announced to the gateways."""

import base64
import warnings
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from starlette.exceptions import StarletteDeprecationWarning

from central.api import create_app
from central.cases import directory
from central.geo.ward_locator import WardLocator
from central.store.sqlite import SqliteStore
from central.store.users import add_user
from central.telemetry.stations import Station
from protocol import topics
from protocol.envelopes import DutyOfficer, WardDirectory
from tests.central.central_testkit import NOW, WARD

with warnings.catch_warnings():
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from fastapi.testclient import TestClient

pytestmark = pytest.mark.unit

OFFICER, RADIO = "Trần Văn A", 0x0D000001
KEY = base64.b64encode(bytes(range(1, 33))).decode()
URL = f"/api/wards/{WARD}/officers/{OFFICER}/radio"


@dataclass
class Api:
    client: TestClient
    store: SqliteStore
    tokens: dict[str, str]
    published: list[tuple[str, str, bool]]

    def as_(self, who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[who]}"} if who != "public" else {}

    def pinned(self) -> dict[int, bytes]:
        raw = self.store.directory(WARD)
        assert raw is not None
        return WardDirectory.model_validate_json(raw).pinned_keys()

    def rejected(self) -> dict[str, int]:
        stats = self.client.get("/api/stats").json()
        return {k: v for k, v in stats["rejected_by_reason"].items() if k.startswith("radio_")}


@pytest.fixture
def api(sqlite_store: SqliteStore, locator: WardLocator, stations: dict[str, Station]) -> Iterator[Api]:
    directory.install(sqlite_store, directory.seed(locator, {}), NOW)
    directory.put(sqlite_store, WardDirectory(ward=WARD, authority="UBND Phường Kim Long", officers=[
        DutyOfficer(name=OFFICER, role="duty officer", phone="+84 1"), DutyOfficer(name="Chị Lan")]), NOW)
    tokens = {
        "ioc": add_user(sqlite_store, "ioc", "operator", None, None, NOW),
        "kimlong": add_user(sqlite_store, "kimlong", "ward", WARD, None, NOW),
        "gw": add_user(sqlite_store, "gw", "gateway", WARD, None, NOW),
    }
    published: list[tuple[str, str, bool]] = []
    app = create_app(sqlite_store, locator, stations, lambda: True, publish=published.extend,
                     clock=lambda: NOW)
    with TestClient(app, client=("127.0.0.1", 50000)) as c:
        yield Api(c, sqlite_store, tokens, published)


def test_an_operator_enrols_a_radio_and_the_gateways_hear_of_it(api: Api) -> None:
    got = api.client.put(URL, json={"radio_node_id": RADIO, "public_key": KEY}, headers=api.as_("ioc"))
    assert got.status_code == 200, got.text
    assert api.pinned() == {RADIO: bytes(range(1, 33))}
    [(topic, payload, retain)] = api.published
    assert (topic, retain) == (topics.directory(WARD), True)
    announced = WardDirectory.model_validate_json(payload)
    assert [(o.name, o.radio_node_id, o.public_key) for o in announced.officers] == [
        (OFFICER, RADIO, KEY), ("Chị Lan", None, None)]
    # The radio changes hands: pinning it to Chị Lan unpins it from the first officer.
    lan = api.client.put(f"/api/wards/{WARD}/officers/Chị Lan/radio", json={"radio_node_id": RADIO, "public_key": KEY},
                         headers=api.as_("ioc"))
    assert [(o.name, o.public_key) for o in WardDirectory.model_validate(lan.json()).officers] == [
        (OFFICER, None), ("Chị Lan", KEY)]
    gone = api.client.delete(f"/api/wards/{WARD}/officers/Chị Lan/radio", headers=api.as_("ioc"))
    assert gone.status_code == 200
    assert api.pinned() == {}
    assert len(api.published) == 3


@pytest.mark.parametrize(("who", "status"), [("kimlong", 403), ("gw", 403), ("public", 401)])
def test_only_an_operator_may_pin_a_key(api: Api, who: str, status: int) -> None:
    for call in (lambda: api.client.put(URL, json={"radio_node_id": RADIO, "public_key": KEY}, headers=api.as_(who)),
                 lambda: api.client.delete(URL, headers=api.as_(who))):
        assert call().status_code == status
    assert api.pinned() == {}
    assert api.published == []
    assert api.rejected() == {"radio_enrolment_forbidden": 2}


def test_a_ward_official_may_edit_the_directory_but_not_pin_a_key(api: Api) -> None:
    pinned = WardDirectory(ward=WARD, authority="UBND Phường Kim Long", officers=[
        DutyOfficer(name=OFFICER, radio_node_id=RADIO, public_key=KEY)])
    put = api.client.put(f"/api/directory/{WARD}", json=pinned.model_dump(mode="json"), headers=api.as_("kimlong"))
    assert put.status_code == 403
    assert "IOC operator" in put.json()["detail"]
    assert api.pinned() == {}
    enrol = api.client.put(URL, json={"radio_node_id": RADIO, "public_key": KEY}, headers=api.as_("ioc"))
    assert enrol.status_code == 200
    # With the pin in place the official may still edit names and phones, and drop officers, but not move the pin.
    edited = pinned.model_copy(update={"officers": [pinned.officers[0].model_copy(update={"phone": "+84 9"})]})
    ok = api.client.put(f"/api/directory/{WARD}", json=edited.model_dump(mode="json"), headers=api.as_("kimlong"))
    assert ok.status_code == 200, ok.text
    other_radio = pinned.officers[0].model_copy(update={"radio_node_id": 0x0D0000FF})
    moved = pinned.model_copy(update={"officers": [other_radio]})
    assert api.client.put(f"/api/directory/{WARD}", json=moved.model_dump(mode="json"),
                          headers=api.as_("kimlong")).status_code == 403
    assert api.pinned() == {RADIO: bytes(range(1, 33))}


@pytest.mark.parametrize("key", ["not base64", base64.b64encode(b"x" * 31).decode(),
                                 base64.b64encode(bytes(32)).decode()])
def test_a_bad_key_is_refused_with_what_to_do(api: Api, key: str) -> None:
    got = api.client.put(URL, json={"radio_node_id": RADIO, "public_key": key}, headers=api.as_("ioc"))
    assert got.status_code == 422
    assert "public_key" in got.json()["detail"]
    assert api.rejected() == {"radio_key_invalid": 1}
    assert api.pinned() == {}


def test_an_unknown_officer_or_ward_is_404(api: Api) -> None:
    body = {"radio_node_id": RADIO, "public_key": KEY}
    nobody = api.client.put(f"/api/wards/{WARD}/officers/Nobody/radio", json=body, headers=api.as_("ioc"))
    assert nobody.status_code == 404
    assert "add them first" in nobody.json()["detail"]
    assert api.client.put("/api/wards/00000/officers/A/radio", json=body, headers=api.as_("ioc")).status_code == 404
    assert api.client.put(URL, json={**body, "radio_node_id": 0}, headers=api.as_("ioc")).status_code == 422
