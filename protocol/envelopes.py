"""JSON envelopes on MQTT, validated by one schema module that every tier imports."""

from datetime import datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

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


class GatewayStatus(_Envelope):
    """A gateway's retained state; ``online: false`` is also its MQTT last will."""

    v: Literal[1] = 1
    gateway: str = Field(min_length=1, max_length=64)
    ward: str = Field(min_length=1, max_length=64)
    online: bool
    outbox_pending: int = Field(default=0, ge=0)


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


class DutyOfficer(_Envelope):
    """A ward official reachable on the mesh."""

    name: str = Field(min_length=1, max_length=120)
    role: str = Field(default="", max_length=80)
    phone: str = Field(default="", max_length=40)
    radio_node_id: int | None = Field(default=None, ge=1, le=0xFFFFFFFF)


class WardDirectory(_Envelope):
    """Central -> gateways on ``floodmesh/v1/<ward>/directory`` (retained): who answers for the ward."""

    v: Literal[1] = 1
    ward: str = Field(min_length=1, max_length=64)
    authority: str = Field(min_length=1, max_length=200)
    officers: list[DutyOfficer] = Field(default_factory=list)
    escalation: list[str] = Field(default_factory=list, description="next levels, e.g. district, then the IOC")


MESH_TEXT_MAX = 200  # bytes of UTF-8 that fit one Meshtastic text packet with room to spare


class TextDownlink(_Envelope):
    """Central -> gateway on ``down/text``: a text for an official's radio (``node_id`` None = all)."""

    v: Literal[1] = 1
    node_id: int | None = Field(default=None, ge=1, le=0xFFFFFFFF)
    text: str = Field(min_length=1, max_length=MESH_TEXT_MAX)
