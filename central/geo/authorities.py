"""Ward authorities: who answers for a ward, loaded from a CSV (data, not code)."""

import csv
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Authority:
    """The People's Committee of one ward and its duty contact."""

    ward_code: str
    authority: str
    duty_officer: str
    phone: str
    radio_node_id: int | None
    escalation: str


COLUMNS = ("ward_code", "authority", "duty_officer", "phone", "radio_node_id", "escalation")


def load_authorities(path: Path) -> dict[str, Authority]:
    """Authorities by ward code from authorities.csv; a bad header or radio id is a ValueError naming the line."""
    result: dict[str, Authority] = {}
    with path.open(encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        missing = [c for c in COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise ValueError(f"{path}: missing column(s) {', '.join(missing)}")
        for row in reader:
            radio = row.get("radio_node_id") or ""
            if radio.strip() and not _is_hex(radio.strip()):
                raise ValueError(f"{path}:{reader.line_num}: radio_node_id {radio!r} is not hex")
            result[row["ward_code"]] = Authority(
                ward_code=row["ward_code"],
                authority=row["authority"],
                duty_officer=row["duty_officer"],
                phone=row["phone"],
                radio_node_id=int(radio, 16) if radio.strip() else None,
                escalation=row["escalation"],
            )
    return result


def _is_hex(text: str) -> bool:
    try:
        int(text, 16)
    except ValueError:
        return False
    return True
