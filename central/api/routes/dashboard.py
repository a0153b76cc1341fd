"""GET / (the IOC dashboard), GET /dashboard/<asset> (its scripts, styles and vendored libraries), and
GET /api/dashboard/gateways (each gateway's last sign of life, as central has heard it).

Every asset is served from central/dashboard/: no CDN, no hosted tiles or fonts (the IOC keeps working
while the province is cut off). The page's Content-Security-Policy holds the browser to this origin too.
"""

from datetime import datetime, timedelta
from pathlib import Path
from typing import Literal

from fastapi import APIRouter, HTTPException
from fastapi.responses import FileResponse, HTMLResponse
from pydantic import BaseModel

from central.api.auth import PrincipalDep, require_staff
from central.api.deps import ContextDep

DASHBOARD_DIR = Path(__file__).resolve().parents[2] / "dashboard"
DASHBOARD = DASHBOARD_DIR / "index.html"
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "connect-src 'self'; media-src 'self' data:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
)
_TYPES = {".js": "text/javascript", ".css": "text/css", ".png": "image/png", ".html": "text/html"}
ONLINE_WITHIN = timedelta(minutes=5)
SILENT_AFTER = timedelta(minutes=30)

router = APIRouter()


@router.get("/", response_class=HTMLResponse, include_in_schema=False)
def dashboard() -> HTMLResponse:
    """The dashboard page; it logs in, then reads the JSON API and listens to GET /api/events."""
    return HTMLResponse(DASHBOARD.read_text(encoding="utf-8"),
                        headers={"Content-Security-Policy": CONTENT_SECURITY_POLICY, "Cache-Control": "no-store"})


@router.get("/dashboard/{asset:path}", include_in_schema=False)
def dashboard_asset(asset: str) -> FileResponse:
    """One of the dashboard's files (404 outside central/dashboard/ or for an unknown type)."""
    path = (DASHBOARD_DIR / asset).resolve()
    kind = "text/plain; charset=utf-8" if path.name == "LICENSE" else _TYPES.get(path.suffix)
    if not path.is_relative_to(DASHBOARD_DIR) or kind is None or not path.is_file():
        hint = " (vendored libraries are installed by scripts/setup.sh)" if asset.startswith("vendor/") else ""
        raise HTTPException(status_code=404, detail=f"no dashboard asset {asset!r}{hint}")
    return FileResponse(path, media_type=kind, headers={"Cache-Control": "no-cache"})


GatewayState = Literal["online", "quiet", "silent"]


class GatewayOut(BaseModel):
    """A gateway as central last heard it: through a node's status report or an SOS it forwarded."""

    ward: str
    gateway: str
    last_seen: str
    state: GatewayState  # online: heard within 5 min; quiet: within 30 min; silent: longer
    nodes: int  # nodes that reported their status through it
    unsent: int  # frames those nodes still hold (the radio link's backlog)


def gateway_state(last_seen: str, now: datetime) -> GatewayState:
    """Online, quiet or silent by the age of the last thing heard through a gateway."""
    age = now - datetime.fromisoformat(last_seen)
    return "online" if age <= ONLINE_WITHIN else "quiet" if age <= SILENT_AFTER else "silent"


@router.get("/api/dashboard/gateways", tags=["dashboard"])
def gateways(ctx: ContextDep, who: PrincipalDep) -> list[GatewayOut]:
    """Each gateway central has heard from (a ward official: their ward's), newest sign of life first."""
    require_staff(who)
    seen: dict[tuple[str, str], list[object]] = {}
    for ward, gw, at, nodes, unsent in ctx.store.read_all(
        "SELECT ward, gateway, MAX(received_at), COUNT(*), SUM(unsent) FROM node_status GROUP BY ward, gateway"
    ):
        seen[(ward, gw)] = [at, int(nodes), int(unsent or 0)]
    for ward, gw, at in ctx.store.read_all(
        "SELECT ward_code, gateway, MAX(heard_at) FROM cases GROUP BY ward_code, gateway"
    ):
        entry = seen.setdefault((ward, gw), [at, 0, 0])
        entry[0] = max(str(entry[0]), str(at))
    now = ctx.clock()
    out = [GatewayOut(ward=ward, gateway=gw, last_seen=str(at), state=gateway_state(str(at), now),
                      nodes=int(str(nodes)), unsent=int(str(unsent)))
           for (ward, gw), (at, nodes, unsent) in seen.items() if who.sees(ward)]
    return sorted(out, key=lambda g: g.last_seen, reverse=True)
