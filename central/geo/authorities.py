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


def load_authorities(path: Path) -> dict[str, Authority]:
    """Authorities by ward code from authorities.csv."""
    result: dict[str, Authority] = {}
    with path.open(encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            radio = row.get("radio_node_id") or ""
            result[row["ward_code"]] = Authority(
                ward_code=row["ward_code"],
                authority=row["authority"],
                duty_officer=row["duty_officer"],
                phone=row["phone"],
                radio_node_id=int(radio, 16) if radio.strip() else None,
                escalation=row["escalation"],
            )
    return result
