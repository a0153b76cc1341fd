"""Who is calling: a bearer token (a user's, or a dashboard session's) or an HTTP Basic password.

Roles: ``operator`` (IOC, everything), ``ward`` (a ward official: own ward only), ``gateway`` (device token:
its own ward's directory and cases, read only), and ``public`` (no credentials: aggregates only). Where a
request comes from grants nothing: a call from loopback without credentials is the public too, so a
same-host proxy or an ssh tunnel cannot read residents' cases. Both schemes are declared with FastAPI's
security classes, so the OpenAPI document lists them per operation. A token is never taken from a URL.
"""

import base64
from dataclasses import dataclass
from math import ceil
from typing import Annotated

from fastapi import Depends, Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBasic, HTTPBasicCredentials, HTTPBearer
from fastapi.security.utils import get_authorization_scheme_param

from central.api.deps import ContextDep
from central.api.login_limiter import login_keys
from central.api.refusals import Refused, client_address
from central.api.sessions import SESSION_PREFIX
from central.store.users import User, get_user

CREDENTIALS_HINT = ("send 'Authorization: Bearer <token>' (from `floodmesh users add`) or log in with a "
                    "user name and password at POST /api/session")


@dataclass(frozen=True)
class Principal:
    """The caller: name, role, ward (ward officials and gateways), and whether it may only read."""

    name: str
    role: str
    ward: str | None = None
    read_only: bool = False

    def sees(self, ward: str) -> bool:
        """Whether this caller may see a ward's cases and directory."""
        return self.role == "operator" or (self.role in ("ward", "gateway") and self.ward == ward)


PUBLIC = Principal("public", "public", read_only=True)


class _OptionalBasic(HTTPBasic):
    # FastAPI's HTTPBasic answers an undecodable header with its own 401 (a browser login popup) even with
    # auto_error off, and reads the pair as ASCII; here a bad header is None (principal() refuses it with a
    # reason and a count) and a Vietnamese password in UTF-8 works.
    async def __call__(self, request: Request) -> HTTPBasicCredentials | None:  # type: ignore[override]
        scheme, param = get_authorization_scheme_param(request.headers.get("authorization"))
        if scheme.lower() != "basic":
            return None
        try:
            name, colon, secret = base64.b64decode(param, validate=True).decode("utf-8").partition(":")
        except ValueError:  # binascii.Error and UnicodeDecodeError are ValueErrors
            return None
        return HTTPBasicCredentials(username=name, password=secret) if colon else None


bearer_scheme = HTTPBearer(
    auto_error=False, scheme_name="bearer",
    description="A user's token `<user>.<secret>` (floodmesh users add) or a session token from POST /api/session.",
)
basic_scheme = _OptionalBasic(
    auto_error=False, scheme_name="basic", description="A user name and password (floodmesh users add --password).",
)
BearerDep = Annotated[HTTPAuthorizationCredentials | None, Security(bearer_scheme)]
BasicDep = Annotated[HTTPBasicCredentials | None, Security(basic_scheme)]


def unauthorized(reason: str, detail: str) -> Refused:
    """A counted 401; the challenge names Bearer so a browser shows the dashboard's form, not its own popup."""
    return Refused(401, reason, detail, headers={"WWW-Authenticate": 'Bearer realm="floodmesh"'})


def principal(request: Request, ctx: ContextDep, bearer: BearerDep, basic: BasicDep) -> Principal:
    """The caller of this request (public if it sent no credentials, wherever it connects from)."""
    if "api_key" in request.query_params:
        # A URL ends up in proxy and server logs and in browser history: a token there is as good as published.
        raise Refused(400, "token_in_query", "api_key in the query string is refused: send it in the "
                      "'Authorization: Bearer <token>' header (Open311 clients may also POST it in the form body)")
    client = client_address(request)
    if bearer is not None:
        return identify_token(ctx, bearer.credentials, client)
    if basic is not None:
        return identify_password(ctx, basic.username, basic.password, client)
    if "authorization" in request.headers:
        raise unauthorized("malformed_authorization", f"the Authorization header could not be read; {CREDENTIALS_HINT}")
    return PUBLIC


def _principal_of(user: User) -> Principal:
    return Principal(user.name, user.role, user.ward, read_only=user.role == "gateway")


def identify_token(ctx: ContextDep, token: str, client: str) -> Principal:
    """The user a bearer token (a user's or a session's) stands for; 401 if unknown, expired or revoked."""
    if token.startswith(SESSION_PREFIX):
        session = ctx.sessions.lookup(token, ctx.clock())
        user = None if session is None else get_user(ctx.store, session.user)
        if user is None or user.revoked_at is not None:
            raise unauthorized("bad_session", "session expired or unknown; log in again at POST /api/session")
        return _principal_of(user)
    name, dot, secret = token.partition(".")
    if not dot:
        raise unauthorized("malformed_authorization", f"a token reads '<user>.<secret>'; {CREDENTIALS_HINT}")
    return _check(ctx, name, secret, "token", client)


def identify_password(ctx: ContextDep, name: str, password: str, client: str) -> Principal:
    """The user a name and password stand for; 401 if wrong, 429 after too many failures."""
    return _check(ctx, name, password, "password", client)


def _check(ctx: ContextDep, name: str, secret: str, which: str, client: str) -> Principal:
    user = get_user(ctx.store, name)
    active = user is not None and user.revoked_at is None
    stored = None if user is None else (user.token_hash if which == "token" else user.password_hash)
    if user is not None and active and stored is not None and ctx.secrets.known(secret, stored):
        return _principal_of(user)  # verified before: no scrypt, so no need to ask the limiter
    keys = login_keys(client, name[:64])
    wait = ctx.logins.retry_after(keys)
    if wait is not None:
        # Refused before scrypt runs: failed logins cannot be turned into CPU load.
        seconds = max(1, ceil(wait))
        raise Refused(429, "login_rate_limited", f"too many failed logins from {client or 'this client'} or for "
                      f"{name[:64]!r}; wait {seconds} s, then check the user name and secret",
                      headers={"Retry-After": str(seconds)})
    if user is None or not active or stored is None or not ctx.secrets.check(secret, stored):
        ctx.logins.failed(keys)
        raise unauthorized("bad_credentials", "unknown or revoked credentials; check the user name and secret, "
                           "or ask an IOC operator for a new one (`floodmesh users add`)")
    return _principal_of(user)


PrincipalDep = Annotated[Principal, Depends(principal)]


def require_staff(who: Principal) -> Principal:
    """Anyone but the public (401 for the public)."""
    if who.role == "public":
        raise unauthorized("no_credentials", f"this needs credentials; {CREDENTIALS_HINT}")
    return who


def require_writer(who: Principal, ward: str | None = None) -> Principal:
    """An operator, or the official of ``ward``; read-only callers get 403."""
    require_staff(who)
    if who.read_only or who.role not in ("operator", "ward"):
        raise Refused(403, "forbidden", f"{who.role} {who.name!r} may not change cases or directories; "
                      "ask an IOC operator or the ward's official")
    if ward is not None and not who.sees(ward):
        raise Refused(404, "other_ward", "no such ward")
    return who


def require_operator(who: Principal) -> Principal:
    """An IOC operator who may write (ward officials, gateways and read-only callers get 403)."""
    require_staff(who)
    if who.role != "operator" or who.read_only:
        raise Refused(403, "forbidden", f"{who.role} {who.name!r} may not: ask an IOC operator")
    return who
