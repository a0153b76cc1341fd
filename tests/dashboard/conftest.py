"""Fixtures for the dashboard's browser tests: one broker, one central and one chromium per module (each
start costs seconds; the tests keep to their own cases and wards so they do not depend on each other)."""

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from playwright.sync_api import Browser, Page, Playwright, sync_playwright

from central.core.config import CentralSettings
from central.service import CentralService
from central.store.users import add_user
from floodmesh.broker import RunningBroker, find_mosquitto, settings_fields, start_broker
from tests.dashboard.dashboard_testkit import CHROMIUM, KIM_LONG_WARD, OTHER_WARD, PASSWORD, Gateway, registry


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningBroker]:
    """A real Mosquitto, secured as in production."""
    if find_mosquitto() is None:
        pytest.fail("mosquitto is not installed: run scripts/setup.sh (apt-get install mosquitto)")
    running = start_broker(tmp_path_factory.mktemp("mosquitto"), prefer="mosquitto")
    yield running
    running.stop()


@pytest.fixture(scope="module")
def central(broker: RunningBroker, tmp_path_factory: pytest.TempPathFactory) -> Iterator[CentralService]:
    """Central on that broker with an operator 'ioc' and the official 'ward-19813', both with PASSWORD."""
    where = tmp_path_factory.mktemp("central")
    registry().save(where / "registry.json")
    service = CentralService(CentralSettings(
        db_path=where / "central.sqlite", registry_path=where / "registry.json",
        **settings_fields(broker.endpoint_for_central()), api_host="127.0.0.1", api_port=0,
        client_id="central-dashboard-test"))
    service.start()
    assert service.store is not None
    assert service.ingest is not None
    assert service.ingest.wait_subscribed(10), "central never got its SUBACK"
    now = datetime.now(UTC)
    add_user(service.store, "ioc", "operator", None, PASSWORD, now)
    add_user(service.store, f"ward-{OTHER_WARD}", "ward", OTHER_WARD, PASSWORD, now)
    yield service
    service.stop()


@pytest.fixture(scope="module")
def gateways(broker: RunningBroker, central: CentralService) -> Iterator[dict[str, Gateway]]:
    """A stand-in gateway per test ward."""
    gws = {ward: Gateway(broker, ward) for ward in (KIM_LONG_WARD, OTHER_WARD)}
    yield gws
    for gw in gws.values():
        gw.close()


@pytest.fixture(scope="module")
def playwright() -> Iterator[Playwright]:
    """Playwright's driver."""
    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="module")
def browser(playwright: Playwright) -> Iterator[Browser]:
    """Debian's chromium, headless."""
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: run scripts/setup.sh (apt-get install chromium)")
    launched = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                          args=["--no-sandbox", "--disable-gpu"])
    yield launched
    launched.close()


@pytest.fixture
def page(browser: Browser, central: CentralService) -> Iterator[Page]:
    """A fresh browser context (no session) on a 1920x1080 wall screen; on teardown, checks that every
    request the page made went to central's own origin."""
    context = browser.new_context(viewport={"width": 1920, "height": 1080})
    tab = context.new_page()
    requested: list[str] = []
    tab.on("request", lambda r: requested.append(r.url))
    tab.on("console", lambda m: print(f"browser console {m.type}: {m.text}"))  # in the test's output on failure
    yield tab
    context.close()
    foreign = [u for u in requested if not (u.startswith(central.api_url + "/") or u.startswith(("blob:", "data:")))]
    assert requested, "the page made no request at all"
    assert not foreign, f"requests left central's origin: {foreign}"

