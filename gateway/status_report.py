"""The gateway's retained status: what central's gateways panel knows of it while it is connected.

Published on connect, at once when the radio link changes (the links set their ``state`` without telling
anyone, so the worker asks here on every turn), and every ``interval_s`` otherwise: central tells a live
gateway from a cut-off one by the status's age, and its MQTT last will says ``online: false``.
"""

from collections.abc import Callable
from datetime import UTC, datetime
from typing import cast

from protocol import topics
from protocol.envelopes import GatewayStatus, RadioLinkState

_LINK_STATES = ("connecting", "up", "down")


class StatusReport:
    """When the next status is due, and what it says."""

    def __init__(
        self, ward: str, gateway_id: str, interval_s: float, outbox_pending: Callable[[], int],
        outbox_set_aside: Callable[[], str | None], radio_state: Callable[[], str],
    ) -> None:
        self._ward, self._gateway_id, self._interval_s = ward, gateway_id, interval_s
        self._outbox_pending, self._outbox_set_aside, self._radio_state = outbox_pending, outbox_set_aside, radio_state
        self._sent_at = 0.0  # monotonic time of the last status made
        self._radio: RadioLinkState | None = None  # the radio link state it reported

    def _radio_now(self) -> RadioLinkState | None:
        state = self._radio_state()
        return cast(RadioLinkState, state) if state in _LINK_STATES else None

    def due(self, now: float) -> bool:
        """Whether the radio link changed or ``interval_s`` passed since the last status."""
        return self._radio_now() != self._radio or now - self._sent_at >= self._interval_s

    def message(self, now: float) -> tuple[str, str]:
        """(topic, payload) of a status as of now (publish it retained)."""
        self._radio, self._sent_at = self._radio_now(), now
        status = GatewayStatus(gateway=self._gateway_id, ward=self._ward, online=True,
                               outbox_pending=self._outbox_pending(), outbox_set_aside=self._outbox_set_aside(),
                               radio=self._radio, at=datetime.now(UTC))
        return topics.status(self._ward, self._gateway_id), status.model_dump_json()
