"""POST /api/session (log in: a session token for the dashboard) and DELETE /api/session (log out)."""

from fastapi import APIRouter, Request, Response

from central.api.auth import BasicDep, BearerDep, identify_password, identify_token, unauthorized
from central.api.deps import ContextDep
from central.api.refusals import client_address
from central.api.schemas import SessionIn, SessionOut
from central.api.sessions import SESSION_PREFIX
from central.store.records import iso

router = APIRouter(prefix="/api/session", tags=["session"])


@router.post("", status_code=201, responses={401: {"description": "wrong user or password"},
                                             429: {"description": "too many failed logins; see Retry-After"}})
def log_in(request: Request, ctx: ContextDep, basic: BasicDep, body: SessionIn | None = None) -> SessionOut:
    """Trade a user name and password (JSON body, or HTTP Basic) for a short-lived session token."""
    client = client_address(request)
    if body is not None:
        who = identify_password(ctx, body.user, body.password, client)
    elif basic is not None:
        who = identify_password(ctx, basic.username, basic.password, client)
    else:
        raise unauthorized("no_credentials", "log in with a JSON body {\"user\": ..., \"password\": ...} "
                           "or HTTP Basic; a user with a password is made by `floodmesh users add --password`")
    token, session = ctx.sessions.issue(who.name, ctx.clock())
    return SessionOut(token=token, user=who.name, role=who.role, ward=who.ward, expires_at=iso(session.expires_at))


@router.delete("", status_code=204, response_class=Response)
def log_out(request: Request, ctx: ContextDep, bearer: BearerDep) -> Response:
    """End the session whose token is sent as ``Authorization: Bearer``."""
    if bearer is None or not bearer.credentials.startswith(SESSION_PREFIX):
        raise unauthorized("no_credentials", "send the session token to end as 'Authorization: Bearer <token>'")
    identify_token(ctx, bearer.credentials, client_address(request))
    ctx.sessions.end(bearer.credentials)
    return Response(status_code=204)
