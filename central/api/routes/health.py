"""GET /healthz."""

from fastapi import APIRouter

from central.api.deps import ContextDep
from central.api.schemas import Health

router = APIRouter()


@router.get("/healthz")
def healthz(ctx: ContextDep) -> Health:
    """Central is up; says whether the MQTT ingest is connected."""
    return Health(mqtt_connected=ctx.mqtt_connected())
