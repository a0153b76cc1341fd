"""Is an uplink what it claims? Envelope, topic, node and tag checked before anything is stored.

Pure apart from the registry it is handed: a ``Rejected`` names the refusal counter and, when the
envelope can still be read, the ``msg_id`` to refuse back to the gateway so it stops resending.
"""

import json
from dataclasses import dataclass

from pydantic import ValidationError

from protocol import frames, topics
from protocol.envelopes import Uplink, UplinkBatch, UplinkItem
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


# What the gateway's radio measured of the signal, not what the node said: out of range, it is dropped
# and counted, never a reason to refuse the frame (which may be a resident's SOS).
_SIGNAL_FIELDS = frozenset({"rssi", "snr"})
SIGNAL_DROPPED = "signal_out_of_range"


def _without_bad_signal(raw: object, exc: ValidationError) -> dict[str, object] | None:
    """``raw`` without its signal measurements if they are all that is wrong with it, else None."""
    errors = exc.errors()
    if not isinstance(raw, dict) or not errors or any(not e["loc"] or e["loc"][0] not in _SIGNAL_FIELDS
                                                      for e in errors):
        return None
    return {k: v for k, v in raw.items() if k not in _SIGNAL_FIELDS}


def parse_uplink(payload: bytes) -> tuple[Uplink, bool]:
    """The Uplink envelope of one single-frame message, and whether its signal measurements were dropped
    (out of range); raises Rejected."""
    try:
        return Uplink.model_validate_json(payload), False
    except ValidationError as exc:
        try:
            fixed = _without_bad_signal(json.loads(payload), exc)
        except ValueError:
            fixed = None
        if fixed is None:
            raise Rejected("invalid_envelope", recover_msg_id(payload), f"{exc.error_count()} errors") from exc
    try:
        return Uplink.model_validate(fixed), True
    except ValidationError as exc:  # pragma: no cover - the other fields were valid a moment ago
        raise Rejected("invalid_envelope", recover_msg_id(payload), f"{exc.error_count()} errors") from exc


@dataclass(frozen=True)
class ParsedBatch:
    """An ``up/batch`` envelope judged item by item, so one bad item never holds back the frames beside it."""

    gateway: str
    ward: str
    items: list[UplinkItem]  # the readable items (signal measurements dropped where out of range)
    signal_dropped: int  # items kept without their out-of-range rssi/snr
    refused: list[int]  # msg ids of items that can never be read: refused back, one by one
    unreadable: int  # items so broken that not even their msg id can be read


def parse_batch(payload: bytes) -> ParsedBatch:
    """Each item of an ``up/batch`` message on its own; raises Rejected if the envelope itself is unreadable."""
    try:
        batch = UplinkBatch.model_validate_json(payload)
        return ParsedBatch(batch.gateway, batch.ward, list(batch.items), 0, [], 0)
    except ValidationError as exc:
        whole = exc
    try:
        raw = json.loads(payload)
    except ValueError as exc:
        raise Rejected("invalid_envelope", None, "batch: not JSON") from exc
    items = raw.get("items") if isinstance(raw, dict) else None
    gateway, ward = (raw.get("gateway"), raw.get("ward")) if isinstance(raw, dict) else (None, None)
    if not isinstance(items, list) or not isinstance(gateway, str) or not isinstance(ward, str):
        raise Rejected("invalid_envelope", None, f"batch: {whole.error_count()} errors")
    good: list[UplinkItem] = []
    dropped, refused, unreadable = 0, [], 0
    for item in items:
        try:
            good.append(UplinkItem.model_validate(item))
            continue
        except ValidationError as exc:
            fixed = _without_bad_signal(item, exc)
        if fixed is not None:
            good.append(UplinkItem.model_validate(fixed))
            dropped += 1
            continue
        msg_id = recover_msg_id(json.dumps(item).encode())
        if msg_id is None:
            unreadable += 1
        else:
            refused.append(msg_id)
    return ParsedBatch(gateway, ward, good, dropped, refused, unreadable)


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
