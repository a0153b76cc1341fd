"""The dashboard's first render with 10,000 cases and 500 stations, in Debian's chromium, against fetching
the same data with httpx in the same run.

``first_render_s``: navigation start to the page's login form loaded, plus login to map, queue, tables and
chart drawn (the seconds the operator spends typing are not counted). ``api_s``: the same API requests the
page made, fetched with httpx over 6 parallel connections (as chromium uses per host). ``ratio_vs_api`` is
first_render_s / api_s. The median of RUNS renders; progress on stderr (FLOODMESH_BENCH_EXPLAIN=1: also the
timeline of each render's API requests).
"""

import json
import os
import random
import socket
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from playwright.sync_api import sync_playwright

from central.cases.deadlines import Deadlines
from central.cases.ledger import CaseLedger
from central.core.config import DATA_DIR, CentralSettings
from central.geo.authorities import load_authorities
from central.geo.ward_locator import WardLocator
from central.service import CentralService
from central.store.base import CentralStore
from central.store.records import NewCase, Reading, iso
from central.store.users import add_user
from protocol.envelopes import CaseEvent, CaseEventKind

CASES = 10_000
STATIONS = 500
RUNS = 3
CHROMIUM = "/usr/bin/chromium"
PASSWORD = "benchmark-password"  # noqa: S105 - a throwaway user of a throwaway database
GOAL_S = 1.5
EXPLAIN_JS = """() => [["login", performance.getEntriesByName("fm-login")[0].startTime],
    ["drawn", performance.getEntriesByName("fm-first-render")[0].startTime],
    ...performance.getEntriesByType("resource").filter(r => r.name.includes("/api/"))
      .map(r => [r.name.split("/api/")[1].slice(0, 40), Math.round(r.startTime), Math.round(r.responseEnd)])]"""


def _progress(text: str) -> None:
    print(f"dashboard_render: {text}", file=sys.stderr, flush=True)


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _stations_file(path: Path, locator: WardLocator, rng: random.Random) -> None:
    wards = locator.wards
    stations = []
    for i in range(STATIONS):
        ward = wards[i % len(wards)]
        lon, lat = 107.3 + rng.random() * 0.6, 16.2 + rng.random() * 0.4
        stations.append({"id": f"st{i:03d}", "name": f"Trạm {i:03d}", "river": "Sông Hương", "lat": lat, "lon": lon,
                         "ward": ward.code, "alert_levels_m": {"BD1": 1.0, "BD2": 2.0, "BD3": 3.5}, "datum_m": 8.0,
                         "affected_wards": [ward.code]})
    path.write_text(json.dumps({"stations": stations}), encoding="utf-8")


def _fill(store: CentralStore, locator: WardLocator, rng: random.Random, now: datetime) -> None:
    """10,000 cases over 7 days: 40 % new, 30 % acknowledged, 30 % resolved; a day of levels for one station."""
    ledger = CaseLedger(Deadlines.load(DATA_DIR / "deadlines.json"))
    wards = locator.wards
    with store.transaction() as tx:
        for n in range(CASES):
            ward = wards[rng.randrange(len(wards))]
            at = now - timedelta(seconds=rng.randrange(7 * 86400))
            ref = f"sos:{0x0C000000 + n:08x}:1:{n % 65536}"
            number = tx.insert_case(NewCase(
                0x0C000000 + n, 1, n, ward.code, ward.name, locator.authority_name(ward.code), rng.randrange(5),
                rng.randint(1, 8), 0, 16.2 + rng.random() * 0.4, 107.3 + rng.random() * 0.6, "gps", iso(at), iso(at),
                "gw-bench", ref, rng.randint(1, 4)))
            case = tx.case(number)
            if case is None:
                raise RuntimeError("a case vanished inside its own transaction")
            ledger.record(tx, case, "created", at, "central:ingest", {}, f"central:{ref}:created")
            steps: tuple[CaseEventKind, ...] = ("acknowledged", "resolved")
            for kind in steps[: (0 if n % 10 < 4 else 1 if n % 10 < 7 else 2)]:
                at += timedelta(minutes=5)
                fresh = tx.case(number)
                if fresh is None:
                    raise RuntimeError("a case vanished inside its own transaction")
                ledger.append(tx, fresh, CaseEvent(event_id=f"bench:{n}:{kind}", case_ref=ref, kind=kind, at=at,
                                                   actor="operator:bench", data={}), at)
        for i in range(1440):
            at = now - timedelta(minutes=1440 - i)
            level = 1.5 + i / 1440
            tx.insert_reading(Reading(0x0A0000FF, 1, i, "st000", int(at.timestamp()), iso(at), int((8 - level) * 1000),
                                      level, 90, 0, 1, None, iso(at)))


def _render(url: str) -> tuple[float, list[str]]:
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox", "--disable-gpu"])
        page = browser.new_page(viewport={"width": 1920, "height": 1080})
        requested: list[str] = []
        page.on("request", lambda r: requested.append(r.url))
        page.goto(url + "/")
        page.fill("#login-user", "bench")
        page.fill("#login-password", PASSWORD)
        page.click("#login button[type=submit]")
        page.wait_for_selector("body[data-ready='1']", timeout=120_000)
        # The API requests the first render waited for (those that started before it was drawn).
        before = page.evaluate("""() => { const drawn = performance.getEntriesByName("fm-first-render")[0].startTime;
            return performance.getEntriesByType("resource").filter(r => r.startTime < drawn).map(r => r.name); }""")
        seconds = page.evaluate("""() => {
            const nav = performance.getEntriesByType("navigation")[0];
            const login = performance.getEntriesByName("fm-login")[0].startTime;
            const drawn = performance.getEntriesByName("fm-first-render")[0].startTime;
            return (nav.loadEventEnd + drawn - login) / 1000; }""")
        if os.environ.get("FLOODMESH_BENCH_EXPLAIN"):  # where the time went: marks and each API request's span
            _progress(str(page.evaluate(EXPLAIN_JS)))
        browser.close()
    return float(seconds), [u for u in dict.fromkeys(requested) if u in set(before)]


def _api_s(url: str, requested: list[str], token: str) -> float:
    gets = [u for u in requested if "/api/" in u and "/api/events" not in u and "/api/session" not in u] \
        + [u for u in requested if u.endswith("/healthz")]
    with httpx.Client(headers={"Authorization": f"Bearer {token}"}, timeout=60,
                      limits=httpx.Limits(max_connections=6)) as client:
        t0 = time.perf_counter()
        with ThreadPoolExecutor(6) as pool:
            for reply in pool.map(client.get, gets):
                reply.raise_for_status()
        return time.perf_counter() - t0


def run() -> dict[str, object]:
    """Render RUNS times; one result with medians."""
    rng = random.Random(11)
    locator = WardLocator.from_geojson(DATA_DIR / "hue_wards.geojson", load_authorities(DATA_DIR / "authorities.csv"))
    with tempfile.TemporaryDirectory(prefix="floodmesh-dashboard-bench-") as tmp:
        work = Path(tmp)
        _stations_file(work / "stations.json", locator, rng)
        service = CentralService(CentralSettings(
            db_path=work / "central.sqlite", registry_path=work / "none.json", stations_path=work / "stations.json",
            broker_port=_closed_port(), mqtt_insecure_plaintext=True,  # no broker: nothing crosses that port
            api_host="127.0.0.1", api_port=0,
            deadline_check_s=86_400.0))  # no escalation sweep over 7,000 overdue cases in the middle of a render
        service.start()
        try:
            if service.store is None:
                raise RuntimeError("central did not open its store")
            now = datetime.now(UTC)
            _progress(f"storing {CASES} cases and {STATIONS} stations")
            _fill(service.store, locator, rng, now)
            add_user(service.store, "bench", "operator", None, PASSWORD, now)
            token = httpx.post(service.api_url + "/api/session", json={"user": "bench", "password": PASSWORD}).json()
            renders, apis = [], []
            for i in range(RUNS):
                seconds, requested = _render(service.api_url)
                renders.append(seconds)
                apis.append(_api_s(service.api_url, requested, token["token"]))
                _progress(f"run {i + 1}/{RUNS}: first render {seconds:.2f} s, same API requests {apis[-1]:.2f} s")
        finally:
            service.stop()
    first, api = statistics.median(renders), statistics.median(apis)
    return {"benchmark": "dashboard_render", "cases": CASES, "stations": STATIONS, "runs": RUNS,
            "first_render_s": round(first, 3), "api_s": round(api, 3), "ratio_vs_api": round(first / api, 2),
            "goal_first_render_s": GOAL_S, "meets_goal": first <= GOAL_S}
