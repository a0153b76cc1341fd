"""Telling a ward's duty officers about a new case: a text to each officer's radio through the gateway."""

import json

from central.store.records import Case
from protocol import topics
from protocol.envelopes import DutyOfficer, WardDirectory
from protocol.frames import SOS_KINDS, VULNERABLE_FLAGS

TEXT_LEAF = "text"
MAX_TEXT_BYTES = 200  # Meshtastic's text payload is 233 bytes; leave room for the gateway's framing


def text_topic(ward: str, gateway: str) -> str:
    """``floodmesh/v1/<ward>/<gateway>/down/text``: a text message for the gateway to send on the mesh."""
    return topics.downlink_filter(ward, gateway).removesuffix("+") + TEXT_LEAF


def text_payload(node_id: int, text: str) -> str:
    """The JSON the gateway turns into a Meshtastic TEXT_MESSAGE_APP packet to ``node_id``."""
    return json.dumps({"v": 1, "node_id": node_id, "text": text}, ensure_ascii=False)


def _clip(text: str) -> str:
    data = text.encode("utf-8")
    if len(data) <= MAX_TEXT_BYTES:
        return text
    return data[: MAX_TEXT_BYTES - 3].decode("utf-8", errors="ignore") + "..."


def case_text(case: Case) -> str:
    """One short line an officer can act on: number, priority, kind, people, who is vulnerable, where."""
    kind = SOS_KINDS[case.kind] if 0 <= case.kind < len(SOS_KINDS) else "help"
    vulnerable = ",".join(name for name, bit in VULNERABLE_FLAGS if case.vulnerable & bit)
    located = case.lat is not None and case.lon is not None
    where = f"{case.lat:.5f},{case.lon:.5f}" if located else "vị trí: theo gateway"
    parts = [f"SOS #{case.case_number} P{case.priority}", kind, f"{case.people} người"]
    if vulnerable:
        parts.append(vulnerable)
    parts += [case.ward_name, where]
    return _clip(" | ".join(parts))


def officers_on_radio(directory_json: str | None) -> list[DutyOfficer]:
    """The ward's duty officers who carry a radio."""
    if directory_json is None:
        return []
    directory = WardDirectory.model_validate_json(directory_json)
    return [o for o in directory.officers if o.radio_node_id is not None]
