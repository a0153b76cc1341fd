"""A gateway's own retained status (``floodmesh/v1/<ward>/<gw>/status``) -> a row central can show.

Status is state, not an uplink: it has no msg_id and is never app-acknowledged. Every central replica
sees it (a plain subscription, not the shared one), and it is refused, counted and logged like an uplink
when its envelope does not validate or names another ward or gateway than its topic.
"""

from datetime import datetime

from pydantic import ValidationError

from central.store.records import GatewayStatusRow, iso
from protocol import topics
from protocol.envelopes import GatewayStatus


class StatusRefused(Exception):
    """A status message central will not store; ``reason`` is the refusal counter's name."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


def read_status(parsed: topics.Topic, payload: bytes, heard_at: datetime) -> GatewayStatusRow:
    """The row to store for a status heard on ``parsed``; raises StatusRefused."""
    try:
        status = GatewayStatus.model_validate_json(payload)
    except ValidationError as exc:
        raise StatusRefused("invalid_status", f"{exc.error_count()} errors") from exc
    if (status.ward, status.gateway) != (parsed.ward, parsed.gateway):
        raise StatusRefused("status_topic_mismatch", f"envelope says {status.ward}/{status.gateway}")
    return GatewayStatusRow(
        ward=status.ward, gateway=status.gateway, online=status.online, outbox_pending=status.outbox_pending,
        radio=status.radio, sent_at=None if status.at is None else iso(status.at), heard_at=iso(heard_at),
    )
