"""Authentication at the API: schemes in OpenAPI, dashboard sessions, failed logins limited before scrypt."""

import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

import pytest
from starlette.exceptions import StarletteDeprecationWarning

import central.core.security
from central.api import create_app
from central.api.login_limiter import LoginLimiter, LoginLimits
from central.geo.ward_locator import WardLocator
from central.store.sqlite import SqliteStore
from central.store.users import add_user, revoke_user
from central.telemetry.stations import Station
from tests.central.central_testkit import NOW, WARD

with warnings.catch_warnings():
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from fastapi.testclient import TestClient

ATTACKER = ("203.0.113.7", 40000)


@dataclass
class Api:
    client: TestClient
    token: str  # the operator's own bearer token
    clock: list[datetime]
    limiter_now: list[float]
    scrypt_calls: list[str]

    def refused(self) -> dict[str, int]:
        by_reason: dict[str, int] = self.client.get("/api/stats").json()["api_refused_by_reason"]
        return by_reason


@pytest.fixture
def api(
    sqlite_store: SqliteStore, locator: WardLocator, stations: dict[str, Station], clock: list[datetime],
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Api]:
    token = add_user(sqlite_store, "ioc", "operator", None, "hunter2", NOW)
    add_user(sqlite_store, "kimlong", "ward", WARD, "mật khẩu", NOW)  # a Vietnamese password, UTF-8
    scrypt_calls: list[str] = []
    real_verify = central.core.security.verify_secret

    def counting_verify(secret: str, stored: str) -> bool:
        scrypt_calls.append(secret)
        return real_verify(secret, stored)

    monkeypatch.setattr(central.core.security, "verify_secret", counting_verify)
    limiter_now = [0.0]
    logins = LoginLimiter(LoginLimits(per_address=3, per_user=100, window_s=60.0), clock=lambda: limiter_now[0])
    app = create_app(sqlite_store, locator, stations, lambda: True, clock=lambda: clock[0], logins=logins)
    with TestClient(app, client=ATTACKER) as c:
        yield Api(c, token, clock, limiter_now, scrypt_calls)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.mark.unit
def test_openapi_declares_bearer_and_basic_on_the_operations_that_read_credentials(api: Api) -> None:
    doc = api.client.get("/openapi.json").json()
    schemes = doc["components"]["securitySchemes"]
    assert {name: (s["type"], s["scheme"]) for name, s in schemes.items()} == {
        "bearer": ("http", "bearer"), "basic": ("http", "basic"),
    }
    for path, method in (("/api/cases", "get"), ("/api/cases/{case_number}/events", "post"),
                         ("/api/directory/{ward}", "put"), ("/open311/v2/requests.json", "post")):
        assert doc["paths"][path][method]["security"] == [{"bearer": []}, {"basic": []}], path
    assert doc["paths"]["/api/session"]["post"]["security"] == [{"basic": []}]
    for path in ("/healthz", "/api/stats", "/api/stations", "/api/wards"):
        assert "security" not in doc["paths"][path]["get"], path


@pytest.mark.unit
def test_failed_logins_are_429_with_retry_after_and_scrypt_is_not_run(api: Api) -> None:
    for _ in range(3):
        assert api.client.get("/api/cases", auth=("ioc", "guess")).status_code == 401
    assert len(api.scrypt_calls) == 3
    for attempt in (("ioc", "guess"), ("ioc", "hunter2"), ("nobody", "x")):
        blocked = api.client.get("/api/cases", auth=attempt)
        assert blocked.status_code == 429, attempt
        assert blocked.headers["retry-after"] == "60"
        assert "wait 60 s" in blocked.json()["detail"]
    blocked_token = api.client.get("/api/cases", headers=bearer("ioc.not-the-token"))
    assert blocked_token.status_code == 429
    blocked_login = api.client.post("/api/session", json={"user": "ioc", "password": "hunter2"})
    assert blocked_login.status_code == 429
    assert len(api.scrypt_calls) == 3  # nothing hashed while blocked
    assert api.refused() == {"bad_credentials": 3, "login_rate_limited": 5}
    api.limiter_now[0] = 60.0  # the window has passed
    assert api.client.get("/api/cases", auth=("ioc", "hunter2")).status_code == 200
    assert len(api.scrypt_calls) == 4


@pytest.mark.unit
def test_a_secret_verified_before_still_works_while_its_client_is_blocked(api: Api) -> None:
    assert api.client.get("/api/cases", headers=bearer(api.token)).status_code == 200
    for _ in range(3):
        api.client.get("/api/cases", auth=("ioc", "guess"))
    calls = len(api.scrypt_calls)
    assert api.client.get("/api/cases", headers=bearer(api.token)).status_code == 200
    assert len(api.scrypt_calls) == calls


@pytest.mark.unit
def test_a_dashboard_session_logs_in_polls_and_logs_out(api: Api) -> None:
    login = api.client.post("/api/session", json={"user": "kimlong", "password": "mật khẩu"})
    assert login.status_code == 201, login.text
    session = login.json()
    assert (session["user"], session["role"], session["ward"], session["token_type"]) == (
        "kimlong", "ward", WARD, "bearer")
    assert session["expires_at"].startswith("2025-11-16T00:00:00")  # NOW + 12 h
    assert api.client.get("/api/cases", headers=bearer(session["token"])).status_code == 200
    assert api.client.delete("/api/session", headers=bearer(session["token"])).status_code == 204
    gone = api.client.get("/api/cases", headers=bearer(session["token"]))
    assert gone.status_code == 401
    assert "log in again" in gone.json()["detail"]
    assert api.refused() == {"bad_session": 1}


@pytest.mark.unit
def test_a_session_by_http_basic_ends_when_it_expires_or_its_user_is_revoked(
    api: Api, sqlite_store: SqliteStore
) -> None:
    assert api.client.post("/api/session").status_code == 401
    assert api.client.post("/api/session", auth=("ioc", "hunter3")).status_code == 401
    first = api.client.post("/api/session", auth=("ioc", "hunter2")).json()["token"]
    second = api.client.post("/api/session", json={"user": "ioc", "password": "hunter2"}).json()["token"]
    api.clock[0] = NOW + timedelta(hours=12)
    assert api.client.get("/api/cases", headers=bearer(first)).status_code == 401
    api.clock[0] = NOW
    assert api.client.get("/api/cases", headers=bearer(second)).status_code == 200
    revoke_user(sqlite_store, "ioc", NOW)
    assert api.client.get("/api/cases", headers=bearer(second)).status_code == 401


@pytest.mark.unit
def test_unreadable_credentials_are_refused_with_a_reason_and_counted(api: Api) -> None:
    for header in ("Basic !!!", "Basic " + "bm9jb2xvbg==", "Digest x", "Bearer nodot"):  # "nocolon"
        response = api.client.get("/api/cases", headers={"Authorization": header})
        assert response.status_code == 401, header
        assert response.headers["www-authenticate"] == 'Bearer realm="floodmesh"'  # no browser popup
        assert "Authorization: Bearer" in response.json()["detail"]
    assert api.client.get("/api/cases").status_code == 401
    assert api.refused() == {"malformed_authorization": 4, "no_credentials": 1}
    assert api.scrypt_calls == []
