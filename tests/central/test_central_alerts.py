"""The Nov 2023 Kim Long flood replayed through the ingest: alerts stored, published, served, and as CAP 1.2."""

import json
import warnings
from collections.abc import Iterator
from datetime import datetime
from xml.etree import ElementTree as ET

import pytest
from starlette.exceptions import StarletteDeprecationWarning

from central.api import create_app
from central.geo.ward_locator import WardLocator
from central.ingest.processor import BatchResult, UplinkProcessor
from central.store.base import CentralStore
from central.telemetry import nov2023
from central.telemetry.alerts import MESH_TEXT_MAX, alerts_topic
from central.telemetry.stations import Station
from protocol import frames, topics
from protocol.envelopes import Downlink, Uplink
from tests.central.cap_rules import NS, cap_errors
from tests.central.central_testkit import GATEWAY, SENSOR_ID, SENSOR_KEY

with warnings.catch_warnings():
    # starlette asks for httpx2, which is not packaged yet; the TestClient works with httpx.
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from fastapi.testclient import TestClient

WARD = "19813"
ATOM = "{http://www.w3.org/2005/Atom}"


def reading_uplink(seq: int, moment: datetime, level_m: float, datum_m: float) -> tuple[str, bytes]:
    """The Kim Long sensor's frame for a level, heard the moment it was sent."""
    wl = frames.WaterLevel(round((datum_m - level_m) * 1000), 80)
    frame = frames.Frame(SENSOR_ID, 1, seq, int(moment.timestamp()), wl)
    hexed = frames.encode(frame, SENSOR_KEY).hex()
    env = Uplink(msg_id=seq, gateway=GATEWAY, ward=WARD, received_at=moment, frame=hexed)
    return topics.uplink(WARD, GATEWAY, "water_level"), env.model_dump_json().encode()


@pytest.fixture
def replayed(processor: UplinkProcessor, stations: dict[str, Station]) -> list[BatchResult]:
    """The whole Nov 2023 series in batches of 8, as a gateway would forward it."""
    ups = [reading_uplink(i + 1, m, lv, stations["kim_long"].datum_m) for i, (m, lv) in enumerate(nov2023.series())]
    return [processor.process_batch(ups[i : i + 8]) for i in range(0, len(ups), 8)]


@pytest.fixture
def client(
    replayed: list[BatchResult], processor: UplinkProcessor, store: CentralStore, locator: WardLocator,
    stations: dict[str, Station],
) -> Iterator[TestClient]:
    app = create_app(store, locator, stations, lambda: True, lambda: processor.levels.states)
    with TestClient(app) as c:
        yield c


@pytest.mark.unit
def test_replay_stores_the_alerts_in_order(replayed: list[BatchResult], store: CentralStore) -> None:
    alerts = list(reversed(store.alerts("kim_long")))
    assert [(a.kind, a.level) for a in alerts if a.kind.startswith("level")] == [
        ("level_raised", "BD1"), ("level_raised", "BD2"), ("level_raised", "BD3"),
        ("level_cleared", "BD3"), ("level_cleared", "BD2"), ("level_cleared", "BD1"),
    ]
    assert store.stats().alerts == len(alerts)
    assert store.stats().flagged_by_reason == {}  # the replay is clean: every reading passed QC


@pytest.mark.unit
def test_each_alert_goes_to_every_affected_ward(replayed: list[BatchResult], stations: dict[str, Station]) -> None:
    wards = stations["kim_long"].wards_to_warn
    published = [out for r in replayed for out in r.alerts]
    by_id: dict[int, set[str]] = {}
    for out in published:
        body = json.loads(out.payload)
        by_id.setdefault(body["id"], set()).add(out.topic)
        assert len(body["text"].encode()) <= MESH_TEXT_MAX
        assert body["text"].startswith("Kim Long: ")
    assert by_id
    assert all(t == {alerts_topic(w) for w in wards} for t in by_id.values())
    assert alerts_topic("19774") == "floodmesh/v1/19774/alerts"


@pytest.mark.unit
def test_sensor_told_to_report_faster_in_flood_and_back_when_calm(replayed: list[BatchResult]) -> None:
    configs = []
    for result in replayed:
        for out in result.downlinks:
            assert out.topic == topics.downlink(WARD, GATEWAY, SENSOR_ID)  # through the gateway that heard it
            down = Downlink.model_validate_json(out.payload)
            frame = frames.decode(bytes.fromhex(down.frame), SENSOR_KEY)
            assert isinstance(frame.payload, frames.Config)
            configs.append(frame.payload.report_interval_s)
    assert configs == [60, 300]


@pytest.mark.unit
def test_api_serves_alerts_and_station_state(client: TestClient) -> None:
    alerts = client.get("/api/alerts").json()
    assert alerts[0]["kind"] == "level_cleared"
    assert alerts[0]["level"] == "BD1"  # newest first
    assert {a["station_name"] for a in alerts} == {"Kim Long"}
    assert client.get("/api/alerts", params={"station": "hoi_an"}).status_code == 404
    (kim_long,) = [s for s in client.get("/api/stations").json() if s["id"] == "kim_long"]
    assert (kim_long["alert_state"], kim_long["qc_flag"], kim_long["rising_fast"]) == ("none", 1, False)
    assert kim_long["trend_m_per_h"] < 0  # receding at the end of the replay


@pytest.mark.unit
def test_levels_window_and_downsampled_history(client: TestClient) -> None:
    window = {"since": "2023-11-15T19:00:00+07:00", "until": "2023-11-15T20:00:00+07:00"}
    raw = client.get("/api/stations/kim_long/levels", params=window).json()
    assert [r["level_at"] for r in raw] == sorted(r["level_at"] for r in raw)
    assert len(raw) == 4
    assert max(r["level_m"] for r in raw) == pytest.approx(4.34)
    day = {"since": "2023-11-15T00:00:00+07:00", "until": "2023-11-16T00:00:00+07:00", "bucket_s": 3600}
    hours = client.get("/api/stations/kim_long/history", params=day).json()
    assert len(hours) == 24
    assert all(h["n"] == 4 for h in hours)
    assert max(h["max_m"] for h in hours) == pytest.approx(4.34)
    naive = {"since": "2023-11-15T00:00:00", "until": "2023-11-16T00:00:00+07:00"}
    assert client.get("/api/stations/kim_long/history", params=naive).status_code == 422


@pytest.mark.unit
def test_cap_feed_is_valid_cap_1_2(client: TestClient) -> None:
    response = client.get("/api/alerts.cap")
    assert response.headers["content-type"].startswith("application/atom+xml")
    feed = ET.fromstring(response.content)  # noqa: S314 - our own output
    caps = [entry.find(f"{ATOM}content/{{{NS}}}alert") for entry in feed.findall(f"{ATOM}entry")]
    assert caps
    assert all(c is not None for c in caps)
    for cap in caps:
        assert cap is not None
        assert cap_errors(cap) == []
    by_type = {(c.findtext(f"{{{NS}}}msgType"), c.findtext(f"{{{NS}}}info/{{{NS}}}severity")) for c in caps if c}
    assert ("Alert", "Extreme") in by_type
    assert ("Update", "Minor") in by_type
    bd3 = next(c for c in caps if c is not None and c.findtext(f"{{{NS}}}info/{{{NS}}}responseType") == "Evacuate")
    assert bd3.findtext(f"{{{NS}}}sent", "").endswith("+07:00")
    assert "Phường Kim Long" in bd3.findtext(f"{{{NS}}}info/{{{NS}}}area/{{{NS}}}areaDesc", "")


@pytest.mark.unit
def test_cap_checker_catches_broken_messages(client: TestClient) -> None:
    feed = ET.fromstring(client.get("/api/alerts.cap").content)  # noqa: S314 - our own output
    cap = feed.find(f"{ATOM}entry/{ATOM}content/{{{NS}}}alert")
    assert cap is not None
    cap.find(f"{{{NS}}}sent").text = "2023-11-15T12:30:00Z"  # type: ignore[union-attr]
    cap.find(f"{{{NS}}}status").text = "Real"  # type: ignore[union-attr]
    info = cap.find(f"{{{NS}}}info")
    assert info is not None
    info.remove(info.find(f"{{{NS}}}urgency"))  # type: ignore[arg-type]
    errors = cap_errors(cap)
    assert any("sent" in e for e in errors)
    assert any("status" in e for e in errors)
    assert any("urgency" in e for e in errors)
