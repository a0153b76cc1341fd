"""OASIS CAP 1.2 messages for the alerts, wrapped in an Atom feed (``GET /api/alerts.cap``).

A level raised is an ``Alert``; its clearing is an ``Update`` that references it, with urgency
``Past`` and response ``AllClear``. Times carry the ICT offset, as CAP 1.2 requires (no "Z").
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from xml.etree import ElementTree as ET

from central.store.records import StoredAlert
from central.telemetry.alerts import ICT
from central.telemetry.stations import Station

CAP_NS = "urn:oasis:names:tc:emergency:cap:1.2"
ATOM_NS = "http://www.w3.org/2005/Atom"
SENDER = "ioc@floodmesh.hue.vn"
SENDER_NAME = "floodmesh IOC Huế"

# kind/level -> (urgency, severity, certainty, responseType)
_GRADING: dict[str, tuple[str, str, str, str]] = {
    "BD1": ("Expected", "Moderate", "Observed", "Prepare"),
    "BD2": ("Immediate", "Severe", "Observed", "Prepare"),
    "BD3": ("Immediate", "Extreme", "Observed", "Evacuate"),
    "rising_fast": ("Expected", "Moderate", "Likely", "Monitor"),
    "clear": ("Past", "Minor", "Observed", "AllClear"),
}


@dataclass(frozen=True)
class CapRef:
    """Who sent which message when: what a later Update references."""

    identifier: str
    sent: str

    def reference(self) -> str:
        """The CAP ``references`` form: sender,identifier,sent."""
        return f"{SENDER},{self.identifier},{self.sent}"


def cap_time(iso_utc: str) -> str:
    """An ISO UTC timestamp as CAP 1.2 dateTime in ICT: 2023-11-15T19:30:00+07:00."""
    return datetime.fromisoformat(iso_utc).astimezone(ICT).isoformat(timespec="seconds")


def identifier(alert: StoredAlert) -> str:
    """A CAP identifier: unique per sender, no spaces, commas or markup characters."""
    return f"floodmesh-{alert.station_id}-{alert.id}"


def _sub(parent: ET.Element, tag: str, text: str) -> ET.Element:
    el = ET.SubElement(parent, f"{{{CAP_NS}}}{tag}")
    el.text = text
    return el


def _grading(alert: StoredAlert) -> tuple[str, str, str, str]:
    if alert.kind in ("level_cleared", "rising_eased"):
        return _GRADING["clear"]
    if alert.kind == "rising_fast":
        return _GRADING["rising_fast"]
    return _GRADING[alert.level]


def cap_alert(alert: StoredAlert, station: Station, ward_names: Mapping[str, str], refs: CapRef | None) -> ET.Element:
    """One CAP 1.2 <alert> element for a stored alert; ``refs`` is the alert an Update follows."""
    root = ET.Element(f"{{{CAP_NS}}}alert")
    sent = cap_time(alert.at)
    _sub(root, "identifier", identifier(alert))
    _sub(root, "sender", SENDER)
    _sub(root, "sent", sent)
    _sub(root, "status", "Actual")
    _sub(root, "msgType", "Update" if refs is not None else "Alert")
    _sub(root, "scope", "Public")
    if refs is not None:
        _sub(root, "references", refs.reference())
    info = ET.SubElement(root, f"{{{CAP_NS}}}info")
    urgency, severity, certainty, response = _grading(alert)
    _sub(info, "language", "vi-VN")
    _sub(info, "category", "Met")
    _sub(info, "event", f"Lũ {station.river} tại {station.name}")
    _sub(info, "responseType", response)
    _sub(info, "urgency", urgency)
    _sub(info, "severity", severity)
    _sub(info, "certainty", certainty)
    _sub(info, "effective", sent)
    _sub(info, "senderName", SENDER_NAME)
    _sub(info, "headline", alert.text[:160])
    _sub(info, "description", _description(alert, station))
    for name, value in (("level_m", f"{alert.level_m:.2f}"), ("alert_level", alert.level), ("kind", alert.kind)):
        param = ET.SubElement(info, f"{{{CAP_NS}}}parameter")
        _sub(param, "valueName", name)
        _sub(param, "value", value)
    area = ET.SubElement(info, f"{{{CAP_NS}}}area")
    _sub(area, "areaDesc", ", ".join(ward_names.get(w, w) for w in alert.wards))
    _sub(area, "circle", f"{station.lat:.5f},{station.lon:.5f} 5.0")
    for ward in alert.wards:
        geo = ET.SubElement(area, f"{{{CAP_NS}}}geocode")
        _sub(geo, "valueName", "VN-ward-2025")
        _sub(geo, "value", ward)
    return root


def _description(alert: StoredAlert, station: Station) -> str:
    levels = ", ".join(f"{k} {v:.1f} m" for k, v in station.alert_levels_m.items())
    trend = "" if alert.rate_m_per_h is None else f" Xu thế {alert.rate_m_per_h:+.2f} m/h."
    return f"Mực nước {station.name} ({station.river}) {alert.level_m:.2f} m.{trend} Mức báo động: {levels}."


def cap_feed(alerts: Sequence[StoredAlert], stations: Mapping[str, Station], ward_names: Mapping[str, str]) -> bytes:
    """An Atom feed, newest first, each entry holding one CAP 1.2 alert inline."""
    ET.register_namespace("", ATOM_NS)
    ET.register_namespace("cap", CAP_NS)
    feed = ET.Element(f"{{{ATOM_NS}}}feed")
    ET.SubElement(feed, f"{{{ATOM_NS}}}id").text = "urn:floodmesh:hue:alerts"
    ET.SubElement(feed, f"{{{ATOM_NS}}}title").text = "floodmesh Huế: cảnh báo lũ (CAP 1.2)"
    newest = max((a.at for a in alerts), default="1970-01-01T00:00:00+00:00")
    ET.SubElement(feed, f"{{{ATOM_NS}}}updated").text = cap_time(newest)
    raised: dict[tuple[str, str], CapRef] = {}
    entries = []
    for alert in sorted(alerts, key=lambda a: a.id):  # oldest first, so a clearing finds what it clears
        if alert.station_id not in stations:
            continue
        key = (alert.station_id, "rising" if alert.kind.startswith("rising") else alert.level)
        refs = raised.get(key) if alert.kind in ("level_cleared", "rising_eased") else None
        element = cap_alert(alert, stations[alert.station_id], ward_names, refs)
        if refs is None:
            raised[key] = CapRef(identifier(alert), cap_time(alert.at))
        entries.append((alert, element))
    for alert, element in reversed(entries):
        entry = ET.SubElement(feed, f"{{{ATOM_NS}}}entry")
        ET.SubElement(entry, f"{{{ATOM_NS}}}id").text = f"urn:floodmesh:hue:alert:{identifier(alert)}"
        ET.SubElement(entry, f"{{{ATOM_NS}}}title").text = alert.text
        ET.SubElement(entry, f"{{{ATOM_NS}}}updated").text = cap_time(alert.at)
        content = ET.SubElement(entry, f"{{{ATOM_NS}}}content", type="application/cap+xml")
        content.append(element)
    return bytes(ET.tostring(feed, encoding="utf-8", xml_declaration=True))
