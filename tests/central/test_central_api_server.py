"""Central's API through the real uvicorn server CentralService starts: a call from 127.0.0.1 is trusted
with nothing, and request bodies are capped on the wire (declared and chunked)."""

import json
import socket
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from central.core.config import CentralSettings
from central.service import CentralService
from central.store.users import add_user
from tests.central.central_testkit import NOW

pytestmark = pytest.mark.integration

BODY_CAP = 32 * 1024


def _closed_port() -> int:
    # The ingest retries this broker in the background; the API does not need it.
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def central(tmp_path: Path) -> Iterator[CentralService]:
    service = CentralService(CentralSettings(
        db_path=tmp_path / "central.db", registry_path=tmp_path / "nodes.json", broker_port=_closed_port(),
        api_host="127.0.0.1", api_port=0, api_body_max_bytes=BODY_CAP,
        mqtt_insecure_plaintext=True))  # nothing listens on that port: no byte crosses it
    service.start()
    yield service
    service.stop()


def _exchange(central: CentralService, request: bytes, body_chunks: list[bytes]) -> tuple[int, dict[str, str]]:
    """Send raw HTTP/1.1 and read one response (status and JSON body) without finishing the request body."""
    host, port = central.api_url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(request)
        for chunk in body_chunks:
            sock.sendall(chunk)
        raw = b""
        while b"\r\n\r\n" not in raw:
            raw += sock.recv(65536)
        head, _, rest = raw.partition(b"\r\n\r\n")
        headers = dict(line.split(": ", 1) for line in head.decode().split("\r\n")[1:])
        length = int(headers["content-length"])
        while len(rest) < length:
            rest += sock.recv(65536)
    return int(head.split(b" ")[1]), json.loads(rest)


def test_loopback_without_credentials_is_the_public(central: CentralService) -> None:
    assert central.store is not None
    add_user(central.store, "ioc", "operator", None, "hunter2", NOW)
    with httpx.Client(base_url=central.api_url, timeout=10) as api:
        refused = api.get("/api/cases")
        assert refused.status_code == 401
        assert "Authorization: Bearer" in refused.json()["detail"]
        assert api.get("/api/directory").status_code == 401
        assert api.get("/healthz").status_code == 200
        assert api.get("/api/stations").status_code == 200
        assert "<form id=\"login\"" in api.get("/").text
        session = api.post("/api/session", json={"user": "ioc", "password": "hunter2"}).json()
        assert api.get("/api/cases", headers={"Authorization": f"Bearer {session['token']}"}).status_code == 200
        assert api.get("/api/stats").json()["api_refused_by_reason"] == {"no_credentials": 2}


def test_a_declared_oversized_body_is_refused_before_a_byte_of_it_is_sent(central: CentralService) -> None:
    request = (b"POST /api/session HTTP/1.1\r\nHost: central\r\nContent-Type: application/json\r\n"
               b"Content-Length: 100000000\r\n\r\n")
    status, body = _exchange(central, request, [])
    assert status == 413
    assert f"larger than {BODY_CAP} bytes" in body["detail"]
    assert central.stats()["readings_stored"] == 0
    with httpx.Client(base_url=central.api_url, timeout=10) as api:
        assert api.get("/api/stats").json()["api_refused_by_reason"] == {"body_too_large": 1}


def test_a_chunked_body_is_refused_once_it_passes_the_cap(central: CentralService) -> None:
    request = (b"POST /api/session HTTP/1.1\r\nHost: central\r\nContent-Type: application/json\r\n"
               b"Transfer-Encoding: chunked\r\n\r\n")
    chunk = b"4000\r\n" + b" " * 0x4000 + b"\r\n"  # 16 KiB of JSON whitespace
    # Three chunks (48 KiB) pass the 32 KiB cap; the body is never finished, yet the answer comes.
    status, body = _exchange(central, request, [chunk, chunk, chunk])
    assert status == 413
    assert "api_body_max_bytes" in body["detail"]
    with httpx.Client(base_url=central.api_url, timeout=10) as api:
        assert api.get("/api/stats").json()["api_refused_by_reason"] == {"body_too_large": 1}
        small = api.post("/api/session", json={"user": "nobody", "password": "x" * 1000})
        assert small.status_code == 401  # under the cap: read and answered as usual


@pytest.mark.integration
def test_a_forged_x_forwarded_for_does_not_dodge_the_login_limit(central: CentralService) -> None:
    # No proxy is trusted by default: every attempt counts against the real peer address (127.0.0.1),
    # whatever address the client claims; each uses a fresh user name so only the per-address limit bites.
    statuses = []
    with httpx.Client(base_url=central.api_url, timeout=10) as api:
        for n in range(12):
            reply = api.post("/api/session", json={"user": f"nobody{n}", "password": "guess"},
                             headers={"X-Forwarded-For": f"198.51.100.{n}"})
            statuses.append(reply.status_code)
    assert statuses[0] == 401
    assert statuses[-1] == 429, statuses
