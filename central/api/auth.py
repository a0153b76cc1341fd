"""Who is calling: a bearer token or HTTP Basic password checked against the users table.

Roles: ``operator`` (IOC, everything), ``ward`` (a ward official: own ward only), ``gateway`` (device token:
its own ward's directory and cases, read only), and ``public`` (no credentials: aggregates only). An
unauthenticated call from loopback counts as a read-only operator when ``trust_loopback`` is on, so the
dashboard and the demo on the IOC machine keep working; turn it off behind a reverse proxy.
"""

import base64
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, HTTPException, Request

from central.api.deps import ContextDep
from central.store.users import get_user

LOOPBACK = frozenset({"127.0.0.1", "::1", "localhost"})


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


def _unauthorized(detail: str) -> HTTPException:
    return HTTPException(status_code=401, detail=detail, headers={"WWW-Authenticate": 'Bearer realm="floodmesh"'})


def _credentials(header: str) -> tuple[str, str, str]:
    """(name, secret, which hash it is checked against) from an Authorization header."""
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer":
        name, dot, secret = value.strip().partition(".")
        if dot:
            return name, secret, "token"
    elif scheme.lower() == "basic":
        try:
            name, colon, secret = base64.b64decode(value.strip(), validate=True).decode("utf-8").partition(":")
        except ValueError:
            name, colon, secret = "", "", ""
        if colon:
            return name, secret, "password"
    raise _unauthorized("malformed Authorization header")


def principal(request: Request, ctx: ContextDep) -> Principal:
    """The caller of this request (public if it sent no credentials)."""
    header = request.headers.get("authorization")
    token = request.query_params.get("api_key")  # Open311 clients send their key as a parameter
    if header is None and token:
        header = f"Bearer {token}"
    if header is None:
        host = request.client.host if request.client else ""
        if ctx.trust_loopback and host in LOOPBACK:
            return Principal("loopback", "operator", read_only=True)
        return PUBLIC
    return identify(ctx, header)


def identify(ctx: ContextDep, header: str) -> Principal:
    """The user an Authorization header names; 401 if the credentials are unknown, wrong or revoked."""
    name, secret, which = _credentials(header)
    user = get_user(ctx.store, name)
    stored = None if user is None else (user.token_hash if which == "token" else user.password_hash)
    if user is None or user.revoked_at is not None or stored is None or not ctx.secrets.check(secret, stored):
        raise _unauthorized("unknown or revoked credentials")
    return Principal(user.name, user.role, user.ward, read_only=user.role == "gateway")


PrincipalDep = Annotated[Principal, Depends(principal)]


def require_staff(who: Principal) -> Principal:
    """Anyone but the public (401 for the public)."""
    if who.role == "public":
        raise _unauthorized("this needs a token")
    return who


def require_writer(who: Principal, ward: str | None = None) -> Principal:
    """An operator, or the official of ``ward``; read-only callers get 403."""
    require_staff(who)
    if who.read_only or who.role not in ("operator", "ward"):
        raise HTTPException(status_code=403, detail=f"{who.role} {who.name!r} may not change cases or directories")
    if ward is not None and not who.sees(ward):
        raise HTTPException(status_code=404, detail="no such ward")
    return who


def require_operator(who: Principal) -> Principal:
    """An IOC operator who may write (ward officials, gateways and read-only callers get 403)."""
    require_staff(who)
    if who.role != "operator" or who.read_only:
        raise HTTPException(status_code=403, detail=f"{who.role} {who.name!r} may not: ask an IOC operator")
    return who
