"""The dashboard in a real browser (Debian's chromium through Playwright) against a real central and Mosquitto:
log in, see an SOS arrive live, act on it, see accountability change, the BĐ2 banner, a ward official's
limits, both languages; every request stays on central's origin (checked by the ``page`` fixture)."""

import pytest
from playwright.sync_api import Page, expect

from central.service import CentralService
from tests.dashboard.dashboard_testkit import (
    BUTTON_A,
    BUTTON_B,
    BUTTON_C,
    BUTTON_D,
    KIM_LONG_WARD,
    OTHER_WARD,
    Gateway,
    log_in,
    screenshot,
)

pytestmark = pytest.mark.integration
LIVE_S = 5_000  # ms: "within a second" plus a loaded 2-core machine's slack


def test_operator_sees_an_sos_live_acts_on_it_and_accountability_changes(
    page: Page, central: CentralService, gateways: dict[str, Gateway]
) -> None:
    log_in(page, central, "ioc")
    expect(page.locator("h1")).to_have_text("floodmesh · Trung tâm IOC Huế")  # Vietnamese by default
    gateways[KIM_LONG_WARD].sos(BUTTON_A, seq=1)
    row = page.locator("#cases tr").first
    expect(row).to_contain_text("Y tế", timeout=LIVE_S)  # medical, arrived without a reload
    number = row.get_attribute("data-case")
    acct = page.locator(f"#acct tbody tr[data-ward='{KIM_LONG_WARD}']")
    expect(acct.locator("td[data-col='received']")).to_have_text("1", timeout=LIVE_S)
    expect(acct.locator("td[data-col='acknowledged_in_time']")).to_have_text("0")
    screenshot(page, "live-sos")

    row.click()
    expect(page.locator("#detail-title")).to_contain_text(f"#{number}")
    expect(page.locator("#detail-history")).to_contain_text("central:ingest")
    page.click("#detail-actions button[data-action='acknowledged']")
    expect(page.locator("#detail-message")).to_have_class("ok")
    expect(page.locator("#detail-history")).to_contain_text("operator:ioc")
    expect(acct.locator("td[data-col='acknowledged_in_time']")).to_have_text("1", timeout=LIVE_S)

    page.click("#detail-actions button[data-action='rated']")  # only a resolved case can be rated: 409
    expect(page.locator("#detail-message")).to_have_class("error")
    expect(page.locator("#detail-message")).to_contain_text("Không thực hiện được")
    screenshot(page, "case-detail-409")


def test_a_station_crossing_bd2_raises_the_banner(
    page: Page, central: CentralService, gateways: dict[str, Gateway]
) -> None:
    log_in(page, central, "ioc")
    expect(page.locator("#banner")).to_be_hidden()
    for seq in range(1, 4):  # 2.5 m at Kim Long (BĐ2 2.0 m), a minute apart; the rules confirm after 2 readings
        gateways[OTHER_WARD].level(seq, 5_500, minutes_ago=3 - seq)
    expect(page.locator("#banner")).to_be_visible(timeout=LIVE_S)
    expect(page.locator("#banner")).to_contain_text("BĐ2")
    expect(page.locator("#chart")).to_have_attribute("data-points", "3", timeout=LIVE_S)  # the chart followed
    screenshot(page, "bd2-banner")


def test_a_ward_official_sees_only_their_ward(
    page: Page, central: CentralService, gateways: dict[str, Gateway]
) -> None:
    gateways[KIM_LONG_WARD].sos(BUTTON_A, seq=7, kind=2)  # another ward's case, before and after logging in
    log_in(page, central, f"ward-{OTHER_WARD}")
    gateways[KIM_LONG_WARD].sos(BUTTON_A, seq=8, kind=2)
    gateways[OTHER_WARD].sos(BUTTON_B, seq=1, kind=4)
    expect(page.locator("#cases tr")).to_have_count(1, timeout=LIVE_S)  # their own ward's, live
    expect(page.locator("#cases tr")).to_contain_text("Nhu yếu phẩm")
    assert page.locator("#f-ward option").count() == 2  # "all" and their ward
    other = central.store.cases(ward=KIM_LONG_WARD, limit=1)[0].case_number  # type: ignore[union-attr]
    status = page.evaluate(
        "n => fetch('/api/cases/' + n, {headers: {Authorization: 'Bearer ' + session.token}}).then(r => r.status)",
        other)
    assert status == 404
    screenshot(page, "ward-official")


def test_the_page_switches_between_vietnamese_and_english(page: Page, central: CentralService) -> None:
    log_in(page, central, "ioc")
    expect(page.locator("#h-queue")).to_contain_text("Hàng đợi sự vụ")
    page.click("#lang")
    expect(page.locator("h1")).to_have_text("floodmesh · Huế IOC")
    expect(page.locator("#h-queue")).to_contain_text("Case queue")
    expect(page.locator("#acct thead")).to_contain_text("Acknowledged in time")
    assert page.evaluate("document.documentElement.lang") == "en"
    screenshot(page, "english")
    page.keyboard.press("l")  # and back, from the keyboard
    expect(page.locator("#h-queue")).to_contain_text("Hàng đợi sự vụ")


def test_accountability_sorts_and_exports_csv(
    page: Page, central: CentralService, gateways: dict[str, Gateway]
) -> None:
    gateways[OTHER_WARD].sos(BUTTON_C, seq=1)
    log_in(page, central, "ioc")
    expect(page.locator("#acct tbody tr")).not_to_have_count(0, timeout=LIVE_S)
    heading = page.locator("#acct th:has(button[data-key='received'])")
    heading.locator("button").focus()
    page.keyboard.press("Enter")  # sortable from the keyboard
    expect(heading).to_have_attribute("aria-sort", "descending")
    received = [int(x) for x in page.locator("#acct td[data-col='received']").all_inner_texts()]
    assert received == sorted(received, reverse=True)
    with page.expect_download() as download:
        page.click("#acct-csv")
    lines = download.value.path().read_text(encoding="utf-8").splitlines()
    assert lines[0].startswith("authority,ward_code,received,acknowledged,acknowledged_in_time")
    assert len(lines) == 1 + page.locator("#acct tbody tr").count()


def test_the_live_stream_reconnects_after_central_drops_it(
    page: Page, central: CentralService, gateways: dict[str, Gateway]
) -> None:
    log_in(page, central, "ioc")
    page.evaluate("window.fmHellos = 0; live.onConnected = () => { window.fmHellos += 1; onStreamOpen(); }")
    central._end_streams()  # what central does when it stops: every open stream ends
    page.wait_for_function("window.fmHellos >= 1", timeout=LIVE_S)  # a fresh ticket, a new stream
    expect(page.locator("#live")).to_have_class("on")
    gateways[OTHER_WARD].sos(BUTTON_D, seq=1, kind=3)  # evacuation
    expect(page.locator("#cases")).to_contain_text("Sơ tán", timeout=LIVE_S)


def test_the_gateways_panel_shows_a_ward_isolated_when_its_gateways_last_will_comes(
    page: Page, central: CentralService, gateways: dict[str, Gateway]
) -> None:
    log_in(page, central, "ioc")
    gateway = gateways[KIM_LONG_WARD]
    gateway.status(online=True, outbox_pending=3)
    row = page.locator("#gateways tr", has_text=gateway.name)
    expect(row).to_contain_text("Trực tuyến", timeout=LIVE_S)  # live: no reload
    expect(row).to_contain_text("Hoạt động")  # radio link up
    gateway.status(online=False)  # what the broker publishes when it loses the gateway
    try:
        expect(row).to_contain_text("Bị cô lập", timeout=LIVE_S)
        expect(row.locator(".gw-isolated")).to_be_visible()
        expect(page.locator(".ward-label.isolated")).to_contain_text("Bị cô lập")  # and marked on the map
        page.locator("#gw-panel").scroll_into_view_if_needed()  # below the fold on a 1080p wall
        screenshot(page, "gateway-isolated")
    finally:
        gateway.status(online=True)  # the other tests' ward is back online
