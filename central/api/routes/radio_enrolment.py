"""PUT and DELETE /api/wards/{ward}/officers/{name}/radio: the IOC enrols (pins) a duty officer's radio.

A ward gateway takes a case command from a handheld only as a Meshtastic PKI direct message whose
sender key is the one pinned here (gateway/officer_auth.py). Pinning is an IOC operator's act: a ward
official who could pin keys could enrol any radio as their ward's officer.
"""

import base64
import logging
from typing import Annotated

from fastapi import APIRouter, HTTPException, Path
from pydantic import BaseModel, ConfigDict, Field

from central.api.auth import Principal, PrincipalDep, require_operator
from central.api.deps import ApiContext, ContextDep, WardPath
from central.cases import directory
from protocol.envelopes import WardDirectory, radio_public_key

log = logging.getLogger(__name__)

router = APIRouter(prefix="/api/wards")

OfficerName = Annotated[str, Path(min_length=1, max_length=120, description="the officer's name in the directory")]


class RadioEnrolment(BaseModel):
    """The radio an officer carries: its Meshtastic node number and PKI public key."""

    model_config = ConfigDict(extra="forbid")

    radio_node_id: int = Field(ge=1, le=0xFFFFFFFF, description="the radio's node number (!0d000001 is 0x0d000001)")
    public_key: str = Field(min_length=1, max_length=80,
                            description="the radio's public key, base64 of 32 bytes (Meshtastic app: Security)")


def _refuse(ctx: ApiContext, reason: str, status: int, detail: str) -> HTTPException:
    with ctx.store.transaction() as tx:
        tx.count_rejection(reason)
    log.warning("radio enrolment refused (%s): %s", reason, detail)
    return HTTPException(status_code=status, detail=detail)


def _operator(ctx: ApiContext, who: Principal) -> None:
    try:
        require_operator(who)
    except HTTPException as exc:
        raise _refuse(ctx, "radio_enrolment_forbidden", exc.status_code, str(exc.detail)) from exc


def _directory(ctx: ApiContext, ward: str) -> WardDirectory:
    raw = ctx.store.directory(ward)
    if raw is None:
        raise HTTPException(status_code=404, detail=f"no ward {ward!r}")
    return WardDirectory.model_validate_json(raw)


def _save(ctx: ApiContext, updated: WardDirectory) -> WardDirectory:
    directory.put(ctx.store, updated, ctx.clock())
    topic, payload = directory.message(updated)
    ctx.publish([(topic, payload, True)])  # retained: a gateway that reconnects later still learns it
    return updated


@router.put("/{ward}/officers/{name}/radio")
def enrol_radio(
    ward: WardPath, name: OfficerName, body: RadioEnrolment, ctx: ContextDep, who: PrincipalDep
) -> WardDirectory:
    """Pin an officer's radio (node id + public key) and announce the directory to the ward's gateways."""
    _operator(ctx, who)
    current = _directory(ctx, ward)
    try:
        key = base64.b64encode(radio_public_key(body.public_key)).decode("ascii")
    except ValueError as exc:
        raise _refuse(ctx, "radio_key_invalid", 422, str(exc)) from exc
    try:
        updated = directory.enrol_radio(current, name, body.radio_node_id, key)
    except KeyError as exc:
        raise HTTPException(status_code=404, detail=f"no officer {name!r} in ward {ward!r}: "
                            f"add them first with PUT /api/directory/{ward}") from exc
    log.info("radio %08x enrolled for %s of ward %s by %s", body.radio_node_id, name, ward, who.name)
    return _save(ctx, updated)


@router.delete("/{ward}/officers/{name}/radio")
def unenrol_radio(ward: WardPath, name: OfficerName, ctx: ContextDep, who: PrincipalDep) -> WardDirectory:
    """Remove an officer's pinned key (radio lost or replaced): its commands are refused from then on."""
    _operator(ctx, who)
    try:
        updated = directory.unenrol_radio(_directory(ctx, ward), name)
    except KeyError as exc:
        raise HTTPException(status_code=404, detail=f"no officer {name!r} in ward {ward!r}") from exc
    log.info("radio of %s of ward %s unenrolled by %s", name, ward, who.name)
    return _save(ctx, updated)
