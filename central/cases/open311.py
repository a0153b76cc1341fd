"""Open311 GeoReport v2 over cases: services are SOS kinds, service requests are cases."""

from typing import Any

from central.store.records import Case
from protocol.frames import SOS_KINDS

SERVICES: dict[str, str] = {
    "help": "General help during a flood",
    "medical": "Medical emergency (injury, illness, childbirth)",
    "trapped": "People trapped by water",
    "evacuation": "Evacuation needed",
    "supplies": "Food, water or medicine needed",
}
API_NODE_ID = 0
"""Cases opened through the API have no radio node; they are numbered under node 0 (never a real node)."""


def services() -> list[dict[str, Any]]:
    """GET services.json: one realtime service per SOS kind."""
    return [
        {"service_code": code, "service_name": code.capitalize(), "description": SERVICES[code], "metadata": False,
         "type": "realtime", "keywords": "flood,sos", "group": "flood"}
        for code in SOS_KINDS
    ]


def status(case: Case) -> str:
    """Open311's two statuses."""
    return "closed" if case.state in ("resolved", "cancelled") else "open"


def service_request(case: Case, with_location: bool) -> dict[str, Any]:
    """A case as an Open311 service request; the location only for callers allowed to see it."""
    kind = SOS_KINDS[case.kind] if 0 <= case.kind < len(SOS_KINDS) else "help"
    return {
        "service_request_id": str(case.case_number),
        "status": status(case),
        "status_notes": case.state,
        "service_name": kind.capitalize(),
        "service_code": kind,
        "description": f"{case.people} people" + (f", priority {case.priority}" if case.priority else ""),
        "agency_responsible": case.authority,
        "service_notice": "",
        "requested_datetime": case.created_at,
        "updated_datetime": case.closed_at or case.acknowledged_at or case.created_at,
        "expected_datetime": case.due_at,
        "address": case.ward_name,
        "address_id": case.ward_code,
        "zipcode": None,
        "lat": case.lat if with_location else None,
        "long": case.lon if with_location else None,
        "media_url": None,
    }
