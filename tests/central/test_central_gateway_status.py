"""A gateway's own retained status: stored with the time central heard it, refused when it lies about its
topic, never acknowledged; and the gateways panel's rule (online / isolated / quiet / silent)."""

from datetime import datetime, timedelta

import pytest

from central.api.routes.dashboard import gateway_state
from central.ingest.processor import UplinkProcessor
from central.store.base import CentralStore
from central.store.records import iso
from protocol import topics
from protocol.envelopes import GatewayStatus
from tests.central.central_testkit import GATEWAY, NOW, WARD


def _status(online: bool, at: datetime | None, pending: int = 0, ward: str = WARD, gw: str = GATEWAY) -> bytes:
    env = GatewayStatus(gateway=gw, ward=ward, online=online, outbox_pending=pending,
                        radio="up" if online else None, at=at)
    return env.model_dump_json(exclude_none=True).encode()


def _row(store: CentralStore) -> tuple[object, ...] | None:
    return store.read_one(
        "SELECT online, outbox_pending, radio, sent_at, heard_at FROM gateway_status WHERE ward = ? AND gateway = ?",
        (WARD, GATEWAY),
    )


def test_a_status_is_stored_with_the_time_heard_and_never_acknowledged(
    processor: UplinkProcessor, store: CentralStore, clock: list[datetime]
) -> None:
    result = processor.process_batch([(topics.status(WARD, GATEWAY), _status(True, NOW, pending=42))])
    assert (result.accepted, result.rejected) == (0, 0)
    assert (result.app_acks, result.downlinks) == ([], [])  # state, not an uplink: nothing is owed
    assert _row(store) == (1, 42, "up", iso(NOW), iso(NOW))
    # Its last will (no ``at``) turns it offline, keeping the outbox depth and radio state it last reported.
    lost_at = clock[0] = NOW + timedelta(minutes=1)
    processor.process_batch([(topics.status(WARD, GATEWAY), _status(False, None))])
    assert _row(store) == (0, 42, "up", None, iso(lost_at))
    clock[0] = NOW + timedelta(minutes=5)  # central reconnects: the retained will again; still lost since then
    processor.process_batch([(topics.status(WARD, GATEWAY), _status(False, None))])
    assert _row(store) == (0, 42, "up", None, iso(lost_at))


def test_a_retained_status_redelivered_on_reconnect_is_not_news(
    processor: UplinkProcessor, store: CentralStore, clock: list[datetime]
) -> None:
    topic = topics.status(WARD, GATEWAY)
    processor.process_batch([(topic, _status(True, NOW))])
    clock[0] = NOW + timedelta(minutes=10)  # central reconnects: the broker hands it the same retained status
    processor.process_batch([(topic, _status(True, NOW))])
    assert _row(store) == (1, 0, "up", iso(NOW), iso(NOW))  # heard 10 min ago, still
    processor.process_batch([(topic, _status(True, clock[0]))])  # a fresh one from the gateway
    assert _row(store) == (1, 0, "up", iso(clock[0]), iso(clock[0]))


def test_a_status_naming_another_gateway_or_unreadable_is_refused_and_counted(
    processor: UplinkProcessor, store: CentralStore
) -> None:
    topic = topics.status(WARD, GATEWAY)
    result = processor.process_batch([
        (topic, _status(True, NOW, gw="gw-elsewhere")),
        (topic, _status(True, NOW, ward="19813")),
        (topic, b'{"online": "very"}'),
    ])
    assert (result.rejected, result.app_acks) == (3, [])
    assert _row(store) is None
    refused = store.stats().rejected_by_reason
    assert (refused["status_topic_mismatch"], refused["invalid_status"]) == (2, 1)


@pytest.mark.unit
def test_the_panel_calls_a_gateway_isolated_when_its_will_or_silence_says_so() -> None:
    now = NOW
    ago = lambda minutes: iso(now - timedelta(minutes=minutes))  # noqa: E731
    assert gateway_state(ago(1), now, online=True, status_at=ago(1)) == "online"
    assert gateway_state(ago(1), now, online=False, status_at=ago(1)) == "isolated"  # its last will
    assert gateway_state(ago(1), now, online=True, status_at=ago(4)) == "isolated"  # no status for 3+ min
    assert gateway_state(ago(31), now, online=False, status_at=ago(31)) == "silent"
    # A gateway that sends no status (an older one) is judged by age alone.
    assert [gateway_state(ago(m), now) for m in (1, 10, 31)] == ["online", "quiet", "silent"]
