"""The structure and value rules of OASIS CAP 1.2 (the schema and section 3 of the standard), as a checker.

Written from the CAP 1.2 specification: element order and cardinality of <alert>, <info>, <area>,
<parameter>/<geocode>, the enumerations, the dateTime form with a mandatory offset, and the
character rules of identifier, sender and references.
"""

import re
from xml.etree import ElementTree as ET

NS = "urn:oasis:names:tc:emergency:cap:1.2"
UNBOUNDED = 10**9

ALERT_SEQ = [
    ("identifier", 1, 1), ("sender", 1, 1), ("sent", 1, 1), ("status", 1, 1), ("msgType", 1, 1),
    ("source", 0, 1), ("scope", 1, 1), ("restriction", 0, 1), ("addresses", 0, 1), ("code", 0, UNBOUNDED),
    ("note", 0, 1), ("references", 0, 1), ("incidents", 0, 1), ("info", 0, UNBOUNDED),
]
INFO_SEQ = [
    ("language", 0, 1), ("category", 1, UNBOUNDED), ("event", 1, 1), ("responseType", 0, UNBOUNDED),
    ("urgency", 1, 1), ("severity", 1, 1), ("certainty", 1, 1), ("audience", 0, 1), ("eventCode", 0, UNBOUNDED),
    ("effective", 0, 1), ("onset", 0, 1), ("expires", 0, 1), ("senderName", 0, 1), ("headline", 0, 1),
    ("description", 0, 1), ("instruction", 0, 1), ("web", 0, 1), ("contact", 0, 1), ("parameter", 0, UNBOUNDED),
    ("resource", 0, UNBOUNDED), ("area", 0, UNBOUNDED),
]
AREA_SEQ = [
    ("areaDesc", 1, 1), ("polygon", 0, UNBOUNDED), ("circle", 0, UNBOUNDED), ("geocode", 0, UNBOUNDED),
    ("altitude", 0, 1), ("ceiling", 0, 1),
]
PAIR_SEQ = [("valueName", 1, 1), ("value", 1, 1)]

ENUMS = {
    "status": {"Actual", "Exercise", "System", "Test", "Draft"},
    "msgType": {"Alert", "Update", "Cancel", "Ack", "Error"},
    "scope": {"Public", "Restricted", "Private"},
    "category": {"Geo", "Met", "Safety", "Security", "Rescue", "Fire", "Health", "Env", "Transport", "Infra",
                 "CBRNE", "Other"},
    "responseType": {"Shelter", "Evacuate", "Prepare", "Execute", "Avoid", "Monitor", "Assess", "AllClear", "None"},
    "urgency": {"Immediate", "Expected", "Future", "Past", "Unknown"},
    "severity": {"Extreme", "Severe", "Moderate", "Minor", "Unknown"},
    "certainty": {"Observed", "Likely", "Possible", "Unlikely", "Unknown"},
}
DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}[-+]\d{2}:\d{2}$")  # no "Z", no fractions
NO_SPECIAL = re.compile(r"^[^\s,<&]+$")
LANGUAGE = re.compile(r"^[A-Za-z]{1,8}(-[A-Za-z0-9]{1,8})*$")
POINT = r"-?\d+(\.\d+)?,-?\d+(\.\d+)?"
CIRCLE = re.compile(rf"^{POINT} \d+(\.\d+)?$")
POLYGON = re.compile(rf"^{POINT}( {POINT}){{3,}}$")


def _local(el: ET.Element) -> str:
    if not el.tag.startswith("{" + NS + "}"):
        raise AssertionError(f"element {el.tag} is not in the CAP 1.2 namespace")
    return el.tag.split("}", 1)[1]


def _sequence(parent: ET.Element, seq: list[tuple[str, int, int]], where: str) -> list[str]:
    errors = []
    children = list(parent)
    i = 0
    for name, lo, hi in seq:
        n = 0
        while i < len(children) and _local(children[i]) == name:
            n, i = n + 1, i + 1
        if not lo <= n <= hi:
            errors.append(f"{where}/{name}: {n} occurrences, expected {lo}..{hi if hi < UNBOUNDED else 'n'}")
    if i < len(children):
        errors.append(f"{where}: unexpected or misplaced <{_local(children[i])}>")
    return errors


def _values(parent: ET.Element, where: str) -> list[str]:
    errors = []
    for child in parent:
        name, text = _local(child), (child.text or "")
        if name in ENUMS and text not in ENUMS[name]:
            errors.append(f"{where}/{name}: {text!r} not one of {sorted(ENUMS[name])}")
        if name in ("sent", "effective", "onset", "expires") and not DATETIME.match(text):
            errors.append(f"{where}/{name}: {text!r} is not a CAP dateTime with offset")
        if name in ("identifier", "sender") and not NO_SPECIAL.match(text):
            errors.append(f"{where}/{name}: {text!r} has spaces, commas or markup characters")
        if name == "language" and not LANGUAGE.match(text):
            errors.append(f"{where}/language: {text!r}")
        if name == "circle" and not CIRCLE.match(text):
            errors.append(f"{where}/circle: {text!r}")
        if name == "polygon" and not POLYGON.match(text):
            errors.append(f"{where}/polygon: {text!r}")
        if len(child) == 0 and not text.strip() and name not in ("info", "area", "parameter", "geocode"):
            errors.append(f"{where}/{name}: empty")
    return errors


def _references(text: str) -> list[str]:
    errors = []
    for ref in text.split(" "):
        parts = ref.split(",")
        if len(parts) != 3 or not all(parts) or not DATETIME.match(parts[2]):
            errors.append(f"references: {ref!r} is not sender,identifier,sent")
    return errors


def cap_errors(alert: ET.Element) -> list[str]:
    """Every rule of CAP 1.2 the <alert> element breaks (empty: valid)."""
    if _local(alert) != "alert":
        return [f"root is <{_local(alert)}>, not <alert>"]
    errors = _sequence(alert, ALERT_SEQ, "alert") + _values(alert, "alert")
    by_name = {_local(c): c for c in alert}
    msg_type = by_name["msgType"].text if "msgType" in by_name else None
    if msg_type in ("Update", "Cancel", "Ack", "Error") and "references" not in by_name:
        errors.append(f"alert: msgType {msg_type} without references")
    if "references" in by_name:
        errors += _references(by_name["references"].text or "")
    scope = by_name["scope"].text if "scope" in by_name else None
    if scope == "Restricted" and "restriction" not in by_name:
        errors.append("alert: scope Restricted without restriction")
    if scope == "Private" and "addresses" not in by_name:
        errors.append("alert: scope Private without addresses")
    for info in alert.findall(f"{{{NS}}}info"):
        errors += _sequence(info, INFO_SEQ, "info") + _values(info, "info")
        for pair in [*info.findall(f"{{{NS}}}parameter"), *info.findall(f"{{{NS}}}eventCode")]:
            errors += _sequence(pair, PAIR_SEQ, _local(pair))
        for area in info.findall(f"{{{NS}}}area"):
            errors += _sequence(area, AREA_SEQ, "area") + _values(area, "area")
            for geo in area.findall(f"{{{NS}}}geocode"):
                errors += _sequence(geo, PAIR_SEQ, "geocode")
    return errors
