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
