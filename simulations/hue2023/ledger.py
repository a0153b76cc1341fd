"""The scenario's own ledger: what residents and officers did and what they saw on the air, and the
accountability table that implies, to hold central's against.

Pure: fed by the runner (frames played into the gateways' radios, what the gateways transmitted) and
read by the report. An incident's presses are named ``(node_id, seq)``; the ward's answer to a case is
known by its label, ``L3`` for a case the ward opened while cut off, ``42`` for central's case 42.
"""

import re
from collections import defaultdict
from dataclasses import dataclass, field

STATES = ("registered", "acknowledged", "dispatched", "resolved")
COMPARED = ("received", "acknowledged", "resolved", "cancelled", "open")
_CASE_TEXT = re.compile(r"^SOS #?(L?\d+)\b")
_CONFIRMATION = re.compile(r"^(L?\d+) (acknowledged|dispatched|resolved)$")
LOCAL_CASE_FLAG = 0x80000000  # gateway/ward_cases.py: case numbers a ward gave itself


def case_label(case_number: int) -> str:
    """The label an officer uses for a case number an ACK frame carries."""
    if case_number & LOCAL_CASE_FLAG:
        return f"L{case_number & ~LOCAL_CASE_FLAG}"
    return str(case_number)


def text_case_label(text: str) -> str | None:
    """The case a text to an officer announces (``SOS L3: ...``, ``SOS #42 P2 | ...``), or None."""
    match = _CASE_TEXT.match(text)
    return match.group(1) if match else None


def confirmation(text: str) -> tuple[str, str] | None:
    """(label, state) when a text to an officer confirms a command (``L3 acknowledged``), else None."""
    match = _CONFIRMATION.match(text.strip())
    return (match.group(1), match.group(2)) if match else None


@dataclass(frozen=True)
class AckOnAir:
    """An ACK frame the gateway sent to a button: which SOS it names, the case, its state, when (real s)."""

    ward: str
    node_id: int
    sos_seq: int
    case_number: int
    state: int
    real_t: float

    @property
    def local(self) -> bool:
        """Given by the ward itself while central could not answer."""
        return bool(self.case_number & LOCAL_CASE_FLAG)


@dataclass
class ScenarioLedger:
    """Everything the scenario did and saw, by ward."""

    injected: dict[tuple[int, int], float] = field(default_factory=dict)  # (node, seq) -> first real time
    injected_count: int = 0
    acks: list[AckOnAir] = field(default_factory=list)
    labels: dict[tuple[str, str], int] = field(default_factory=dict)  # (ward, label) -> button node
    confirmed: dict[tuple[str, str], set[str]] = field(default_factory=lambda: defaultdict(set))
    officer_commands: int = 0
    texts_to_officers: int = 0
    withheld_after_rescue: set[tuple[str, int, int]] = field(default_factory=set)  # (ward, button, press)

    def played(self, node_id: int, seq: int, real_t: float) -> None:
        """A frame was played into a gateway's radio."""
        self.injected.setdefault((node_id, seq), real_t)
        self.injected_count += 1

    def ack_seen(self, ack: AckOnAir) -> None:
        """The gateway sent this ACK to a button; its case's label now names that button."""
        self.acks.append(ack)
        self.labels.setdefault((ack.ward, case_label(ack.case_number)), ack.node_id)

    def confirmed_on_air(self, ward: str, label: str, state: str) -> None:
        """The gateway told an officer that a case moved to ``state``."""
        self.confirmed[(ward, label)].add(state)

    def first_ack(self, node_id: int, seq: int, local: bool | None = None) -> AckOnAir | None:
        """The first ACK naming SOS ``seq`` of ``node_id`` (only local or central ones if asked)."""
        return next((a for a in self.acks if a.node_id == node_id and a.sos_seq == seq
                     and (local is None or a.local == local)), None)

    def states_of_node(self, ward: str, node_id: int) -> set[str]:
        """Every state the ward confirmed on air for any case of this button."""
        out: set[str] = set()
        for (w, label), states in self.confirmed.items():
            if w == ward and self.labels.get((w, label)) == node_id:
                out |= states
        return out


@dataclass(frozen=True)
class IncidentFate:
    """One incident as the ledger knows it: did its SOS and its cancel reach the gateway."""

    ward: str
    node_id: int
    delivered: bool
    cancel_delivered: bool


def expected_accountability(fates: list[IncidentFate], ledger: ScenarioLedger) -> dict[str, dict[str, int]]:
    """Per ward: the counts central's accountability table must show, from the scenario alone."""
    table: dict[str, dict[str, int]] = {}
    for fate in fates:
        if not fate.delivered:
            continue
        row = table.setdefault(fate.ward, dict.fromkeys(COMPARED, 0))
        row["received"] += 1
        states = ledger.states_of_node(fate.ward, fate.node_id)
        if fate.cancel_delivered:
            row["cancelled"] += 1
        elif "resolved" in states:
            row["resolved"] += 1
        else:
            row["open"] += 1
        # Central counts a case acknowledged once it was (``acknowledged_at``), whatever came after: a
        # cancel the mesh carried late can follow the officer's ACK, and the ward confirmed that ACK on air.
        if states & {"acknowledged", "dispatched", "resolved"}:
            row["acknowledged"] += 1
    return table


def central_accountability(rows: list[dict[str, object]]) -> dict[str, dict[str, int]]:
    """Central's /api/accountability rows, reduced to the compared counts per ward."""
    table: dict[str, dict[str, int]] = {}
    for row in rows:
        ward = str(row["ward_code"])
        mine = table.setdefault(ward, dict.fromkeys(COMPARED, 0))
        for name in COMPARED:
            value = row.get(name, 0)
            mine[name] += int(value) if isinstance(value, int | float | str) else 0
    return table


def accountability_differences(expected: dict[str, dict[str, int]],
                               central: dict[str, dict[str, int]]) -> list[str]:
    """Every (ward, column) where central and the ledger disagree, said plainly; [] when they match."""
    out = []
    for ward in sorted(set(expected) | set(central)):
        mine, theirs = expected.get(ward, {}), central.get(ward, {})
        for name in COMPARED:
            if mine.get(name, 0) != theirs.get(name, 0):
                out.append(f"ward {ward} {name}: ledger {mine.get(name, 0)}, central {theirs.get(name, 0)}")
    return out
