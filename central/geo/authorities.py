"""Ward authorities: who answers for a ward, loaded from a CSV (data, not code)."""

import csv
from dataclasses import dataclass
from pathlib import Path

from protocol.envelopes import radio_public_key


@dataclass(frozen=True)
class Authority:
    """The People's Committee of one ward and its duty contact."""

    ward_code: str
    authority: str
    duty_officer: str
    phone: str
    radio_node_id: int | None
    escalation: str
    radio_public_key: str | None = None  # base64; pins the duty officer's radio (optional column)


COLUMNS = ("ward_code", "authority", "duty_officer", "phone", "radio_node_id", "escalation")
OPTIONAL_COLUMNS = ("radio_public_key",)


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
            key = (row.get("radio_public_key") or "").strip() or None
            if key is not None:
                _check_key(key, bool(radio.strip()), f"{path}:{reader.line_num}")
            result[row["ward_code"]] = Authority(
                ward_code=row["ward_code"],
                authority=row["authority"],
                duty_officer=row["duty_officer"],
                phone=row["phone"],
                radio_node_id=int(radio, 16) if radio.strip() else None,
                escalation=row["escalation"],
                radio_public_key=key,
            )
    return result


def _is_hex(text: str) -> bool:
    try:
        int(text, 16)
    except ValueError:
        return False
    return True


def _check_key(key: str, has_radio: bool, where: str) -> None:
    try:
        radio_public_key(key)
    except ValueError as exc:
        raise ValueError(f"{where}: radio_public_key: {exc}") from exc
    if not has_radio:
        raise ValueError(f"{where}: radio_public_key needs the radio_node_id it belongs to")
