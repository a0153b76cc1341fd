"""Open311 GeoReport v2: GET services.json, POST/GET requests.json, GET requests/{id}.json."""

import json
from typing import Annotated, Any
from urllib.parse import parse_qs

from fastapi import APIRouter, HTTPException, Query, Request

from central.api.auth import Principal, PrincipalDep, identify_token, require_writer
from central.api.deps import MAX_ROW_ID, CaseNumber, ContextDep, Moment
from central.api.refusals import client_address
from central.cases import open311
from central.store.records import Case, NewCase, iso
from protocol.envelopes import sos_case_ref
from protocol.frames import SOS_KINDS

router = APIRouter(prefix="/open311/v2", tags=["open311"])


@router.get("/services.json")
def services() -> list[dict[str, Any]]:
    """The services (SOS kinds) a request can be for."""
    return open311.services()


def _visible(who: Principal, case: Case) -> bool:
    return who.role != "public" and who.sees(case.ward_code)


def _request_ids(listed: str) -> list[int]:
    # Ids that cannot be case numbers (not ASCII digits, too large) match no case, as unknown ones do.
    ids = (x.strip() for x in listed.split(","))
    return [n for n in (int(x) for x in ids if x.isascii() and x.isdigit() and len(x) <= 19) if n <= MAX_ROW_ID]


@router.get("/requests.json")
def list_requests(
    ctx: ContextDep,
    who: PrincipalDep,
    service_request_id: Annotated[str | None, Query(max_length=2000)] = None,
    service_code: str | None = None,
    status: str | None = None,
    start_date: Moment | None = None,
    end_date: Moment | None = None,
) -> list[dict[str, Any]]:
    """Service requests (newest first); the public sees them without their location."""
    if service_request_id is not None:
        wanted = _request_ids(service_request_id)
        cases = [c for c in (ctx.store.case(n) for n in wanted) if c is not None]
    else:
        since = None if start_date is None else iso(start_date)
        until = None if end_date is None else iso(end_date)
        cases = ctx.store.cases(since=since, until=until, limit=1000)
    cases = [c for c in cases if service_code is None or SOS_KINDS[c.kind] == service_code]
    return [open311.service_request(c, _visible(who, c)) for c in cases if status in (None, open311.status(c))]


@router.get("/requests/{request_id}.json")
def get_request(request_id: CaseNumber, ctx: ContextDep, who: PrincipalDep) -> list[dict[str, Any]]:
    """One service request (as a one-element list, as GeoReport v2 has it)."""
    case = ctx.store.case(request_id)
    if case is None:
        raise HTTPException(status_code=404, detail=f"no service request {request_id}")
    return [open311.service_request(case, _visible(who, case))]


async def _fields(request: Request) -> dict[str, str]:
    body = await request.body()
    if request.headers.get("content-type", "").startswith("application/json"):
        try:
            raw = json.loads(body)
        except ValueError as exc:
            raise HTTPException(status_code=400, detail="body is not JSON") from exc
        return {str(k): str(v) for k, v in raw.items()} if isinstance(raw, dict) else {}
    return {k: v[-1] for k, v in parse_qs(body.decode("utf-8", errors="replace")).items()}


def _number(fields: dict[str, str], key: str, lo: float, hi: float) -> float | None:
    if key not in fields:
        return None
    try:
        value = float(fields[key])
    except ValueError as exc:
        raise HTTPException(status_code=400, detail=f"{key} must be a number") from exc
    if not lo <= value <= hi:
        raise HTTPException(status_code=400, detail=f"{key} must be in [{lo}, {hi}]")
    return value


@router.post("/requests.json", status_code=201)
async def create_request(request: Request, ctx: ContextDep, who: PrincipalDep) -> list[dict[str, Any]]:
    """Open a case from a hotline or app request (form-encoded or JSON): service_code, lat, long, people."""
    fields = await _fields(request)
    if who.role == "public" and fields.get("api_key"):
        # GeoReport v2 sends the key in the form body (never read from the URL: see api/auth.py).
        who = identify_token(ctx, fields["api_key"], client_address(request))
    require_writer(who)
    code = fields.get("service_code", "")
    if code not in SOS_KINDS:
        raise HTTPException(status_code=400, detail=f"service_code must be one of {', '.join(SOS_KINDS)}")
    lat, lon = _number(fields, "lat", -90, 90), _number(fields, "long", -180, 180)
    people = int(_number(fields, "attribute[people]", 1, 255) or 1)
    intake = ctx.intake
    if intake is None:
        raise HTTPException(status_code=503, detail="case intake is not running")
    if lat is not None and lon is not None:
        ward, located_by = intake.locator.locate(lon, lat), "gps"
    elif who.ward is not None:
        ward, located_by, lat, lon = intake.locator.match_code(who.ward), "gateway", None, None
    else:
        raise HTTPException(status_code=400, detail="lat and long are required")
    require_writer(who, ward.code)
    now = ctx.clock()
    kind = SOS_KINDS.index(code)
    with ctx.store.transaction() as tx:
        n = tx.bump_counter_value("open311_requests")
        boot, seq = divmod(n, 100_000)
        new = NewCase(
            node_id=open311.API_NODE_ID, boot_epoch=boot, seq=seq, ward_code=ward.code, ward_name=ward.name,
            authority=intake.locator.authority_name(ward.code), kind=kind, people=people, vulnerable=0, lat=lat,
            lon=lon, located_by=located_by, created_at=iso(now), heard_at=iso(now), gateway="open311",
            case_ref=sos_case_ref(open311.API_NODE_ID, boot, seq), priority=intake.triage(kind, people, 0, ward.code),
        )
        case = intake.open(tx, new, now, actor=f"{who.role}:{who.name}")
    return [{"service_request_id": str(case.case_number), "service_notice": "", "account_id": None}]
