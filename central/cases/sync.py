"""A gateway's case history (``up/case_events``) merged into central's by the union of event ids."""

import re
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

from central.cases.intake import CaseIntake
from central.cases.ledger import CaseLedger
from central.cases.provenance import Publisher, judge_history
from central.store.records import Case, NewCase, iso
from central.store.transaction import StoreTx
from protocol import frames
from protocol.envelopes import CaseEvent, CaseEvents
from protocol.registry import NodeRegistry

_REF = re.compile(r"^sos:([0-9a-f]{8}):([0-9]+):([0-9]+)$")


class HistoryRefused(ValueError):
    """A gateway history central can never merge; ``reason`` goes back in the app ack."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True)
class MergeOutcome:
    """What one CaseEvents envelope did: new events stored, cases opened from a gateway's ``created``."""

    added: int
    opened: list[Case]


def parse_ref(case_ref: str) -> tuple[int, int, int]:
    """(node id, boot epoch, seq) of the SOS frame a case ref names."""
    m = _REF.match(case_ref)
    if m is None:
        raise HistoryRefused("bad_case_ref", case_ref)
    return int(m[1], 16), int(m[2]), int(m[3])


def _signed_sos(data: dict[str, object], ref: str, key: bytes) -> frames.Sos:
    """The button's own SOS frame that a gateway's ``created`` carries, checked against the button's key.

    A case central never saw is opened only from what the resident's button signed: the gateway's word
    (it holds no node key that could sign for a button) could otherwise invent cases, people and
    positions in its ward and skew the accountability figures."""
    signed = data.get("frame")
    if not isinstance(signed, str):
        raise HistoryRefused("unsigned_created", f"{ref}: a 'created' for a case central never saw must carry the "
                                                 "button's signed SOS frame ('frame', hex); update the gateway")
    try:
        frame = frames.decode(bytes.fromhex(signed), key)
    except ValueError as exc:  # FrameError is a ValueError, and so is bad hex
        raise HistoryRefused("bad_created_frame", f"{ref}: {exc}") from exc
    if not isinstance(frame.payload, frames.Sos) or frame.event_id != parse_ref(ref):
        raise HistoryRefused("created_frame_mismatch", f"{ref}: the frame is not the SOS this case names")
    return frame.payload


def _position(sos: frames.Sos) -> tuple[float | None, float | None]:
    if sos.lat_e6 is None or sos.lon_e6 is None:
        return None, None
    return sos.lat_e6 / 1e6, sos.lon_e6 / 1e6


def _claims_match(data: dict[str, object], sos: frames.Sos) -> bool:
    """The gateway's readable copy of the SOS (kept in the history) says what the signed frame says."""
    lat, lon = _position(sos)
    signed: dict[str, object] = {"kind": sos.kind, "people": sos.people, "vulnerable": sos.vulnerable,
                                 "lat": lat, "lon": lon}
    return all(data.get(name, value) == value for name, value in signed.items())


class HistorySync:
    """Resolves each event's case (via the SOS frame it names), checks the publisher may assert it,
    and unions the histories."""

    def __init__(self, intake: CaseIntake, ledger: CaseLedger, registry: NodeRegistry) -> None:
        self._intake = intake
        self._ledger = ledger
        self._registry = registry

    def merge(self, tx: StoreTx, env: CaseEvents, now: datetime, publisher: Publisher) -> MergeOutcome:
        """Merge every event; all or nothing (the caller's savepoint undoes a refused envelope).

        ``publisher`` is the topic's authenticated (ward, gateway); the whole history is judged against
        it (central.cases.provenance) before anything is written."""
        by_ref: dict[str, list[CaseEvent]] = defaultdict(list)
        for event in env.events:
            by_ref[event.case_ref].append(event)
        known = {ref: self._resolve(tx, ref) for ref in by_ref}
        nodes = {ref: parse_ref(ref)[0] for ref in by_ref}
        foreign = judge_history(publisher, by_ref, known, nodes, self._registry)
        if foreign is not None:
            raise HistoryRefused(foreign.reason, foreign.detail)
        added, opened = 0, []
        for ref, events in by_ref.items():
            case = known[ref]
            if case is None:
                case, is_new = self._open(tx, env, ref, events, now)
                if is_new:
                    opened.append(case)
            for event in events:
                owner = tx.event_owner(event.event_id)
                if owner is not None and owner != case.case_number:
                    raise HistoryRefused("event_id_reused", f"{event.event_id} belongs to another case")
            added += len(self._ledger.merge(tx, case, events, now))
        return MergeOutcome(added, opened)

    @staticmethod
    def _resolve(tx: StoreTx, ref: str) -> Case | None:
        node_id, boot, seq = parse_ref(ref)
        return tx.event_case(node_id, boot, seq) or tx.case_by_ref(ref)

    def _open(
        self, tx: StoreTx, env: CaseEvents, ref: str, events: list[CaseEvent], now: datetime,
    ) -> tuple[Case, bool]:
        """The case a gateway's ``created`` stands for: the household's open case if this was one more
        press (as for an SOS frame), else a new one; and whether it is new."""
        created = next((e for e in events if e.kind == "created"), None)
        if created is None:
            raise HistoryRefused("unknown_case", f"{ref}: no 'created' event and central never saw that SOS")
        node_id, boot, seq = parse_ref(ref)
        button = self._registry.get(node_id)
        if button is None:  # judge_new_case refuses it first; kept for the type checker
            raise HistoryRefused("unknown_node", f"node {node_id:08x} is not in central's registry")
        data: dict[str, object] = dict(created.data)
        sos = _signed_sos(data, ref, button.key)
        if not _claims_match(data, sos):
            raise HistoryRefused("created_frame_mismatch", f"{ref}: 'created' says other than the button's signed SOS")
        kind, people, vulnerable = sos.kind, sos.people, sos.vulnerable
        joined = self._intake.join_open_case(tx, (node_id, boot, seq), created.at, now)
        if joined is not None:
            return joined, False
        lat, lon = _position(sos)
        locator = self._intake.locator
        if lat is not None and lon is not None:
            ward, located_by = locator.locate(lon, lat), "gps"
        else:
            ward, located_by, lat, lon = locator.match_code(env.ward), "gateway", None, None
        new = NewCase(
            node_id=node_id, boot_epoch=boot, seq=seq, ward_code=ward.code, ward_name=ward.name,
            authority=locator.authority_name(ward.code), kind=kind, people=people, vulnerable=vulnerable,
            lat=lat, lon=lon, located_by=located_by, created_at=iso(created.at), heard_at=iso(created.at),
            gateway=env.gateway, case_ref=ref, priority=self._intake.triage(kind, people, vulnerable, ward.code),
        )
        return self._intake.open(tx, new, created.at, actor=created.actor, record_created=False), True
