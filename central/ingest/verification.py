"""Is an uplink what it claims? Envelope, topic, node and tag checked before anything is stored.

Pure apart from the registry it is handed: a ``Rejected`` names the refusal counter and, when the
envelope can still be read, the ``msg_id`` to refuse back to the gateway so it stops resending.
"""

import json
from dataclasses import dataclass

from pydantic import ValidationError

from protocol import frames, topics
from protocol.envelopes import Uplink
from protocol.registry import NodeRecord, NodeRegistry


class Rejected(Exception):
    """An uplink central will never accept; ``reason`` is counted, ``msg_id`` refused if known."""

    def __init__(self, reason: str, msg_id: int | None = None, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.msg_id = msg_id


@dataclass(frozen=True)
class Heard:
    """One verified uplink: where it came in, from which node, and the frame."""

    uplink: Uplink
    record: NodeRecord
    frame: frames.Frame


def recover_msg_id(payload: bytes) -> int | None:
    """The msg_id of an envelope that failed validation, if one can be read, so it can be refused."""
    try:
        raw = json.loads(payload)
    except ValueError:
        return None
    msg_id = raw.get("msg_id") if isinstance(raw, dict) else None
    return msg_id if isinstance(msg_id, int) and not isinstance(msg_id, bool) and msg_id >= 1 else None


def parse_uplink(payload: bytes) -> Uplink:
    """The Uplink envelope of one single-frame message; raises Rejected."""
    try:
        return Uplink.model_validate_json(payload)
    except ValidationError as exc:
        raise Rejected("invalid_envelope", recover_msg_id(payload), f"{exc.error_count()} errors") from exc


class UplinkVerifier:
    """Checks an uplink against its topic and its node's key (the registry)."""

    def __init__(self, registry: NodeRegistry) -> None:
        self._registry = registry

    def verify(self, parsed: topics.Topic, uplink: Uplink, check_kind: bool) -> Heard:
        """The verified frame of ``uplink`` heard on ``parsed``; raises Rejected."""
        if (uplink.ward, uplink.gateway) != (parsed.ward, parsed.gateway):
            raise Rejected("topic_mismatch", uplink.msg_id, f"envelope says {uplink.ward}/{uplink.gateway}")
        data = bytes.fromhex(uplink.frame)
        try:
            node_id = frames.peek_node_id(data)
            if data[1] >= frames.T_ACK:
                raise Rejected("unexpected_downlink", uplink.msg_id, f"type 0x{data[1]:02x}")
            record = self._registry.get(node_id)
            if record is None:
                raise Rejected("unknown_node", uplink.msg_id, topics.node_segment(node_id))
            frame = frames.decode(data, record.key)
        except frames.FrameError as exc:
            raise Rejected(exc.reason, uplink.msg_id, exc.detail) from exc
        if check_kind and frame.kind != parsed.leaf:
            raise Rejected("topic_mismatch", uplink.msg_id, f"{frame.kind} frame on up/{parsed.leaf}")
        return Heard(uplink, record, frame)
