"""GET /: the offline IOC dashboard (one HTML file, no external assets)."""

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

DASHBOARD = Path(__file__).resolve().parents[2] / "dashboard" / "index.html"

router = APIRouter()


@router.get("/", response_class=HTMLResponse, include_in_schema=False)
def dashboard() -> HTMLResponse:
    """The dashboard page; it polls the JSON API itself."""
    return HTMLResponse(DASHBOARD.read_text(encoding="utf-8"))
