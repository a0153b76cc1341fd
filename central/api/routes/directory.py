"""GET /api/directory[/{ward}] and PUT /api/directory/{ward}: each ward's duty officers and escalation chain."""

from fastapi import APIRouter, HTTPException

from central.api.auth import PrincipalDep, require_staff, require_writer
from central.api.deps import ContextDep, WardPath
from central.cases import directory
from protocol.envelopes import WardDirectory

router = APIRouter(prefix="/api/directory")


@router.get("")
def list_directories(ctx: ContextDep, who: PrincipalDep) -> list[WardDirectory]:
    """The directories the caller may see (every ward for the IOC, its own for a ward or gateway)."""
    require_staff(who)
    all_wards = [WardDirectory.model_validate_json(raw) for raw in ctx.store.directories()]
    return [d for d in all_wards if who.sees(d.ward)]


@router.get("/{ward}")
def get_directory(ward: WardPath, ctx: ContextDep, who: PrincipalDep) -> WardDirectory:
    """One ward's directory."""
    require_staff(who)
    raw = ctx.store.directory(ward)
    if raw is None or not who.sees(ward):
        raise HTTPException(status_code=404, detail=f"no directory for ward {ward!r}")
    return WardDirectory.model_validate_json(raw)


@router.put("/{ward}")
def put_directory(ward: WardPath, body: WardDirectory, ctx: ContextDep, who: PrincipalDep) -> WardDirectory:
    """Replace a ward's directory and announce it (retained) to the ward's gateways."""
    require_writer(who, ward)
    if body.ward != ward:
        raise HTTPException(status_code=422, detail=f"body is for ward {body.ward!r}, not {ward!r}")
    stored = ctx.store.directory(ward)
    if stored is None:
        raise HTTPException(status_code=404, detail=f"no ward {ward!r}")
    if who.role != "operator" and not directory.pins(body) <= directory.pins(WardDirectory.model_validate_json(stored)):
        # Pinning an officer's radio key lets that radio run the ward's cases: the IOC's act alone.
        with ctx.store.transaction() as tx:
            tx.count_rejection("radio_enrolment_forbidden")
        raise HTTPException(status_code=403, detail="only an IOC operator may pin an officer's radio key: ask the IOC "
                            f"(PUT /api/wards/{ward}/officers/<name>/radio), or leave public_key as it was")
    directory.put(ctx.store, body, ctx.clock())
    topic, payload = directory.message(body)
    ctx.publish([(topic, payload, True)])
    return body
