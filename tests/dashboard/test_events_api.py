"""The dashboard's server side over the real server: stream tickets, the event stream's access rules,
the store's commit observers, the gateways panel's endpoint, and the assets (local files only)."""

import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime

import httpx
import pytest

from central.service import CentralService
from central.store.base import CentralStore, Change
from tests.dashboard.dashboard_testkit import BUTTON_A, BUTTON_B, KIM_LONG_WARD, OTHER_WARD, PASSWORD, Gateway
from tests.mqtt_peer import wait_until

pytestmark = pytest.mark.integration
SSE_READ_S = 20.0  # longer than a heartbeat: a stream that says nothing for this long fails the test


def _session(api: httpx.Client, user: str) -> dict[str, str]:
    token = api.post("/api/session", json={"user": user, "password": PASSWORD}).json()["token"]
    return {"Authorization": f"Bearer {token}"}


def _ticket(api: httpx.Client, user: str) -> str:
    reply = api.post("/api/events/ticket", headers=_session(api, user))
    assert reply.status_code == 201
    return str(reply.json()["ticket"])


def _events(lines: Iterator[str]) -> Iterator[tuple[str, dict[str, object]]]:
    """(event, data) pairs of a server-sent event stream; comments (keepalives) skipped."""
    event = ""
    for line in lines:
        if line.startswith("event: "):
            event = line.removeprefix("event: ")
        elif line.startswith("data: "):
            yield event, json.loads(line.removeprefix("data: "))


@pytest.fixture
def api(central: CentralService) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=central.api_url, timeout=httpx.Timeout(10, read=SSE_READ_S)) as client:
        yield client


def test_a_stream_needs_a_ticket_and_a_ticket_opens_only_one(api: httpx.Client) -> None:
    assert api.post("/api/events/ticket").status_code == 401  # the public gets none
    refused = api.get("/api/events", params={"ticket": "ticket:guessed"})
    assert refused.status_code == 401
    assert "POST /api/events/ticket" in refused.json()["detail"]
    ticket = _ticket(api, "ioc")
    with api.stream("GET", "/api/events", params={"ticket": ticket}) as stream:
        assert stream.headers["content-type"].startswith("text/event-stream")
        event, data = next(_events(stream.iter_lines()))
        assert (event, data) == ("hello", {"user": "ioc", "role": "operator", "ward": None})
    assert api.get("/api/events", params={"ticket": ticket}).status_code == 401  # spent
    assert api.get("/api/stats").json()["api_refused_by_reason"]["bad_stream_ticket"] == 2


def test_a_ward_officials_stream_names_only_their_wards_cases(
    api: httpx.Client, central: CentralService, gateways: dict[str, Gateway]
) -> None:
    store = central.store
    assert store is not None
    ticket = _ticket(api, f"ward-{OTHER_WARD}")
    with api.stream("GET", "/api/events", params={"ticket": ticket}) as stream:
        events = _events(stream.iter_lines())
        assert next(events)[0] == "hello"
        gateways[KIM_LONG_WARD].sos(BUTTON_A, seq=101)
        wait_until(lambda: len(store.cases(ward=KIM_LONG_WARD)) > 0, what="the other ward's case")
        gateways[OTHER_WARD].sos(BUTTON_B, seq=101)
        wait_until(lambda: len(store.cases(ward=OTHER_WARD)) > 0, what="the official's own case")
        own = store.cases(ward=OTHER_WARD)[0].case_number
        seen: list[object] = []
        for event, data in events:
            assert event == "change"
            seen.extend(data["cases"])  # type: ignore[arg-type]
            if own in seen:
                break
    other = store.cases(ward=KIM_LONG_WARD)[0].case_number
    assert other not in seen


def _change_then_fail(store: CentralStore) -> None:
    with store.transaction() as tx:
        tx.changed.add(("case", "999"))
        raise RuntimeError("rolled back")


def test_observers_hear_of_committed_changes_only(central: CentralService) -> None:
    store = central.store
    assert store is not None
    heard: list[frozenset[Change]] = []
    observer: Callable[[frozenset[Change]], None] = heard.append
    store.on_commit.append(observer)
    try:
        with pytest.raises(RuntimeError, match="rolled back"):
            _change_then_fail(store)
        with store.transaction() as tx:
            tx.bump("dashboard_test")  # a write that changes nothing a live view shows
        with store.transaction() as tx:
            tx.changed.add(("alert", "kim_long"))
    finally:
        store.on_commit.remove(observer)
    assert heard == [frozenset({("alert", "kim_long")})]


def test_the_gateways_panel_lists_what_central_heard_per_ward(
    api: httpx.Client, central: CentralService, gateways: dict[str, Gateway]
) -> None:
    gateways[OTHER_WARD].sos(BUTTON_B, seq=201)
    assert central.store is not None
    wait_until(lambda: len(central.store.cases(ward=OTHER_WARD)) > 0, what="a case heard through gw-19813")  # type: ignore[union-attr]
    assert api.get("/api/dashboard/gateways").status_code == 401
    everyone = api.get("/api/dashboard/gateways", headers=_session(api, "ioc")).json()
    mine = api.get("/api/dashboard/gateways", headers=_session(api, f"ward-{OTHER_WARD}")).json()
    row = next(g for g in everyone if g["gateway"] == "gw-19813")
    assert row["state"] == "online"
    assert datetime.fromisoformat(row["last_seen"]) <= datetime.now(UTC)
    assert {g["ward"] for g in mine} == {OTHER_WARD}


def test_assets_are_local_files_and_the_page_holds_the_browser_to_its_origin(api: httpx.Client) -> None:
    page = api.get("/")
    policy = page.headers["content-security-policy"]
    assert "default-src 'self'" in policy
    assert "connect-src 'self'" in policy
    scripts = ("/dashboard/vendor/leaflet/leaflet.js", "/dashboard/vendor/uplot/uPlot.iife.min.js", "/dashboard/app.js")
    for src in scripts:
        assert src in page.text
        asset = api.get(src)
        assert asset.status_code == 200
        assert asset.headers["content-type"].startswith("text/javascript")
    assert "http://" not in page.text.replace("http://www.w3.org", "")  # no external URL in the page
    assert "https://" not in page.text
    licence = api.get("/dashboard/vendor/leaflet/LICENSE")  # the vendored libraries' licences ship with them
    assert licence.status_code == 200
    assert "BSD" in licence.text or "Redistribution" in licence.text
    assert api.get("/dashboard/vendor/.versions").status_code == 404  # served types only
    assert api.get("/dashboard/..%2F..%2Fservice.py").status_code == 404
    assert api.get("/dashboard/%2E%2E/api/app.py").status_code == 404
