"""GET /api/wards: ward polygons for the map."""

from typing import Any

from fastapi import APIRouter

from central.api.deps import LocatorDep

router = APIRouter(prefix="/api")


@router.get("/wards")
def wards(locator: LocatorDep) -> dict[str, Any]:
    """The 40 wards of Huế as a GeoJSON FeatureCollection with code, name, type and authority."""
    return locator.feature_collection()
