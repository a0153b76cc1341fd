"""JSON envelopes on MQTT, validated by one schema module that every tier imports."""

import base64
import binascii
from datetime import datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

FRAME_HEX_PATTERN = r"^([0-9a-f]{2}){20,255}$"


def _aware(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("timestamp must carry a time zone")
    return value


AwareDatetime = Annotated[datetime, AfterValidator(_aware)]


class _Envelope(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Uplink(_Envelope):
    """Gateway -> central: one radio frame as heard, keyed by the gateway's outbox id."""

    v: Literal[1] = 1
    msg_id: int = Field(ge=1, description="the gateway's outbox id; central acknowledges it")
    gateway: str = Field(min_length=1, max_length=64)
    ward: str = Field(min_length=1, max_length=64)
    received_at: AwareDatetime
    rssi: int | None = Field(default=None, ge=-200, le=50)
    snr: float | None = Field(default=None, ge=-50, le=50)
    frame: str = Field(pattern=FRAME_HEX_PATTERN, description="the frame as on air, lowercase hex")


class UplinkItem(_Envelope):
    """One frame inside an ``UplinkBatch``."""

    msg_id: int = Field(ge=1)
    received_at: AwareDatetime
    rssi: int | None = Field(default=None, ge=-200, le=50)
    snr: float | None = Field(default=None, ge=-50, le=50)
    frame: str = Field(pattern=FRAME_HEX_PATTERN)


MAX_BATCH = 500


class UplinkBatch(_Envelope):
    """Gateway -> central on ``up/batch``: many frames per MQTT message while an outbox drains.

    Each item is acknowledged (or refused) on its own, exactly as if it had come alone.
    """

    v: Literal[1] = 1
    gateway: str = Field(min_length=1, max_length=64)
    ward: str = Field(min_length=1, max_length=64)
    items: list[UplinkItem] = Field(min_length=1, max_length=MAX_BATCH)


class Downlink(_Envelope):
    """Central -> gateway: a frame to transmit to one node."""

    v: Literal[1] = 1
    node_id: int = Field(ge=0, le=0xFFFFFFFF)
    frame: str = Field(pattern=FRAME_HEX_PATTERN)
    case_number: int | None = Field(default=None, ge=1)


class Refusal(_Envelope):
    """One uplink that central will never accept, and why (retrying it cannot help)."""

    msg_id: int = Field(ge=1)
    reason: str = Field(min_length=1, max_length=64)


class AppAck(_Envelope):
    """Central -> gateway: these uplinks are durable at central (or refused for good)."""

    v: Literal[1] = 1
    msg_ids: list[int] = Field(default_factory=list)
    refused: list[Refusal] = Field(default_factory=list)


RadioLinkState = Literal["connecting", "up", "down"]


class GatewayStatus(_Envelope):
    """A gateway's retained state; ``online: false`` is also its MQTT last will.

    Published on connect, on every radio link change and periodically while connected. ``radio`` and
    ``at`` came later: optional, so an older gateway's status still validates (and the last will, fixed
    when the connection opens, carries no ``at``).
    """

    v: Literal[1] = 1
    gateway: str = Field(min_length=1, max_length=64)
    ward: str = Field(min_length=1, max_length=64)
    online: bool
    outbox_pending: int = Field(default=0, ge=0)
    outbox_set_aside: str | None = Field(default=None, max_length=1024)  # a damaged outbox moved away at start
    radio: RadioLinkState | None = None
    at: AwareDatetime | None = Field(default=None, description="when the gateway published it (its clock)")


CaseEventKind = Literal[
    "created", "notified", "acknowledged", "dispatched", "resolved", "rated", "cancelled", "escalated", "merged"
]
CASE_REF_PATTERN = r"^sos:[0-9a-f]{8}:[0-9]{1,5}:[0-9]{1,5}$"


def sos_case_ref(node_id: int, boot_epoch: int, seq: int) -> str:
    """The identity of a case born from an SOS frame, known alike to the gateway and central."""
    return f"sos:{node_id:08x}:{boot_epoch}:{seq}"


class CaseEvent(_Envelope):
    """One event in a case's history. Histories merge by the union of event ids."""

    event_id: str = Field(min_length=1, max_length=80, description="globally unique, e.g. '<gateway>:<n>'")
    case_ref: str = Field(pattern=CASE_REF_PATTERN, description="sos:<node hex>:<boot epoch>:<seq>")
    kind: CaseEventKind
    at: AwareDatetime
    actor: str = Field(min_length=1, max_length=80, description="e.g. 'gateway:gw-19774', 'officer:0b0000ff'")
    data: dict[str, str | int | float | bool | None] = Field(default_factory=dict)


class CaseEvents(_Envelope):
    """Gateway -> central on ``up/case_events``: the ward's case history kept while isolated."""

    v: Literal[1] = 1
    msg_id: int = Field(ge=1)
    gateway: str = Field(min_length=1, max_length=64)
    ward: str = Field(min_length=1, max_length=64)
    events: list[CaseEvent] = Field(min_length=1, max_length=MAX_BATCH)


RADIO_KEY_BYTES = 32
"""A Meshtastic PKI public key: Curve25519 (X25519), 32 bytes."""


def radio_public_key(text: str) -> bytes:
    """The 32 key bytes of a radio's public key written in base64 (as the Meshtastic apps and CLI show
    it, with or without a ``base64:`` prefix); ValueError saying what is wrong otherwise."""
    body = text.strip().removeprefix("base64:")
    try:
        key = base64.b64decode(body, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValueError("public_key must be base64 (copy it from the radio's Security settings)") from exc
    if len(key) != RADIO_KEY_BYTES:
        raise ValueError(f"public_key must be {RADIO_KEY_BYTES} bytes of base64, not {len(key)}")
    if key == bytes(RADIO_KEY_BYTES):
        raise ValueError("public_key is all zeros: the radio has no PKI key yet (needs firmware 2.5 or later)")
    return key


def _canonical_key(text: str) -> str:
    return base64.b64encode(radio_public_key(text)).decode("ascii")


RadioPublicKey = Annotated[str, AfterValidator(_canonical_key)]


class DutyOfficer(_Envelope):
    """A ward official reachable on the mesh; ``public_key`` pins the official's radio (IOC enrolment)."""

    name: str = Field(min_length=1, max_length=120)
    role: str = Field(default="", max_length=80)
    phone: str = Field(default="", max_length=40)
    radio_node_id: int | None = Field(default=None, ge=1, le=0xFFFFFFFF)
    public_key: RadioPublicKey | None = Field(
        default=None, max_length=64,
        description="the radio's Meshtastic PKI public key (base64 of 32 bytes); commands must come from it")

    @model_validator(mode="after")
    def _key_needs_node(self) -> "DutyOfficer":
        if self.public_key is not None and self.radio_node_id is None:
            raise ValueError("a pinned public_key needs the radio_node_id it belongs to")
        return self

    def pinned_key(self) -> bytes | None:
        """The pinned public key as bytes (None: this official's radio is not enrolled)."""
        return None if self.public_key is None else base64.b64decode(self.public_key)


class WardDirectory(_Envelope):
    """Central -> gateways on ``floodmesh/v1/<ward>/directory`` (retained): who answers for the ward."""

    v: Literal[1] = 1
    ward: str = Field(min_length=1, max_length=64)
    authority: str = Field(min_length=1, max_length=200)
    officers: list[DutyOfficer] = Field(default_factory=list)
    escalation: list[str] = Field(default_factory=list, description="next levels, e.g. district, then the IOC")

    @model_validator(mode="after")
    def _one_key_per_radio(self) -> "WardDirectory":
        keys: dict[int, str] = {}
        for o in self.officers:
            if o.radio_node_id is None or o.public_key is None:
                continue
            if keys.setdefault(o.radio_node_id, o.public_key) != o.public_key:
                raise ValueError(f"radio {o.radio_node_id:08x} is pinned to two different public keys")
        return self

    def pinned_keys(self) -> dict[int, bytes]:
        """Each enrolled radio's node id -> its pinned public key."""
        return {o.radio_node_id: key for o in self.officers
                if o.radio_node_id is not None and (key := o.pinned_key()) is not None}


MESH_TEXT_MAX = 200  # bytes of UTF-8 that fit one Meshtastic text packet with room to spare


class TextDownlink(_Envelope):
    """Central -> gateway on ``down/text``: a text for an official's radio (``node_id`` None = all)."""

    v: Literal[1] = 1
    node_id: int | None = Field(default=None, ge=1, le=0xFFFFFFFF)
    text: str = Field(min_length=1, max_length=MESH_TEXT_MAX)
