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


GatewayState = Literal["online", "isolated", "quiet", "silent"]
STATUS_STALE_AFTER = timedelta(minutes=3)  # three of a connected gateway's 60 s status intervals


class GatewayOut(BaseModel):
    """A gateway as central last heard it: its own status, node status reports and SOS it forwarded."""

    ward: str
    gateway: str
    last_seen: str
    state: GatewayState  # see ``gateways`` for the rule
    nodes: int  # nodes that reported their status through it
    unsent: int  # frames those nodes still hold (the radio link's backlog)
    online: bool | None = None  # what its own latest status says; None: it never sent one
    outbox_pending: int | None = None  # its outbox depth by that status
    radio: str | None = None  # its radio link by that status: connecting | up | down
    status_at: str | None = None  # when central heard that status


def gateway_state(
    last_seen: str, now: datetime, online: bool | None = None, status_at: str | None = None
) -> GatewayState:
    """The panel's state of a gateway (the rule is in ``gateways``' docstring)."""
    age = now - datetime.fromisoformat(last_seen)
    if age > SILENT_AFTER:
        return "silent"
    if online is None or status_at is None:  # a gateway that sends no status: by age alone
        return "online" if age <= ONLINE_WITHIN else "quiet"
    fresh = now - datetime.fromisoformat(status_at) <= STATUS_STALE_AFTER
    return "online" if online and fresh else "isolated"


@router.get("/api/dashboard/gateways", tags=["dashboard"])
def gateways(ctx: ContextDep, who: PrincipalDep) -> list[GatewayOut]:
    """Each gateway central has heard from (a ward official: their ward's), newest sign of life first.

    ``last_seen`` is the newest of its own status, a node status report and an SOS it forwarded. Its state:
    **silent** when nothing at all came through it for over 30 minutes; else **isolated** when its own
    latest status says offline (its MQTT last will: the broker lost it, the backhaul is cut) or is older
    than 3 minutes (a connected gateway repeats it every 60 s, so its backhaul is gone even if no will came
    through); else **online**. A gateway that never sent a status (an older one) is online when heard within
    5 minutes, **quiet** up to 30.
    """
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
    statuses: dict[tuple[str, str], tuple[bool, int, str | None, str]] = {}
    for ward, gw, online, pending, radio, heard_at in ctx.store.read_all(
        "SELECT ward, gateway, online, outbox_pending, radio, heard_at FROM gateway_status"
    ):
        statuses[(ward, gw)] = (bool(online), int(pending), radio, str(heard_at))
        entry = seen.setdefault((ward, gw), [heard_at, 0, 0])
        entry[0] = max(str(entry[0]), str(heard_at))
    now = ctx.clock()
    out = []
    for (ward, gw), (at, nodes, unsent) in seen.items():
        if not who.sees(ward):
            continue
        online, pending, radio, status_at = statuses.get((ward, gw), (None, None, None, None))
        out.append(GatewayOut(ward=ward, gateway=gw, last_seen=str(at), nodes=int(str(nodes)), unsent=int(str(unsent)),
                              state=gateway_state(str(at), now, online, status_at), online=online,
                              outbox_pending=pending, radio=radio, status_at=status_at))
    return sorted(out, key=lambda g: g.last_seen, reverse=True)
