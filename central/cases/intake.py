"""SOS and cancel frames become cases; each one earns an ACK for the button that sent it."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from central.cases.ledger import CaseLedger
from central.cases.triage import FloodNearby, priority
from central.geo.ward_locator import WardLocator, WardMatch
from central.store.records import Case, NewCase, iso
from central.store.transaction import StoreTx
from protocol.envelopes import Uplink, sos_case_ref
from protocol.frames import ACK_STATES, Frame, Sos, SosCancel
from protocol.registry import NodeRecord

INGEST = "central:ingest"

MERGE_WINDOW = timedelta(minutes=30)


@dataclass(frozen=True)
class AckPlan:
    """What to tell a button: its SOS ``sos_seq`` is case ``case_number`` in ``state`` (frames.ACK_STATES)."""

    node_id: int
    sos_boot: int
    sos_seq: int
    case_number: int
    state: int
    new_case: bool = False  # a case opened by this SOS: its ward's duty officers are to be told


@dataclass(frozen=True)
class Location:
    """Where an SOS came from and which source said so."""

    ward: WardMatch
    lat: float | None
    lon: float | None
    located_by: str


def _plan(frame: Frame, sos_seq: int, case: Case) -> AckPlan:
    return AckPlan(frame.node_id, frame.boot_epoch, sos_seq, case.case_number, ACK_STATES.index(case.state))


class CaseIntake:
    """Registers cases from SOS frames; idempotent per event id (node, boot epoch, seq)."""

    def __init__(
        self,
        locator: WardLocator,
        ledger: CaseLedger,
        flood_near: Callable[[str], FloodNearby] = lambda _ward: FloodNearby(),
        merge_window: timedelta = MERGE_WINDOW,
    ) -> None:
        self._locator = locator
        self._ledger = ledger
        self._flood_near = flood_near
        self._merge_window = merge_window

    def locate(self, uplink: Uplink, record: NodeRecord, sos: Sos) -> Location:
        """The button's GPS fix if it has one, else its registered place, else the gateway's ward."""
        if sos.lat_e6 is not None and sos.lon_e6 is not None:
            lat, lon = sos.lat_e6 / 1e6, sos.lon_e6 / 1e6
            return Location(self._locator.locate(lon, lat), lat, lon, "gps")
        if record.lat is not None and record.lon is not None:
            return Location(self._locator.locate(record.lon, record.lat), record.lat, record.lon, "registry")
        return Location(self._locator.match_code(uplink.ward), None, None, "gateway")

    def register(self, tx: StoreTx, uplink: Uplink, record: NodeRecord, frame: Frame, now: datetime) -> AckPlan:
        """A new SOS: the case a gateway already opened for it, the node's open case of the last 30 minutes
        (one more press), or a new case."""
        sos = frame.payload
        if not isinstance(sos, Sos):
            raise TypeError(f"not an SOS frame: {frame!r}")
        ref = sos_case_ref(frame.node_id, frame.boot_epoch, frame.seq)
        new = self.new_case(uplink, record, frame, sos, now)
        known = tx.case_by_ref(ref)
        if known is not None:
            # The ward's gateway reported this case (up/case_events) before the frame itself arrived.
            if known.located_by == "gateway" and new.located_by != "gateway":
                tx.relocate(known.case_number, new)
            tx.link_event(frame.node_id, frame.boot_epoch, frame.seq, known.case_number)
            return _plan(frame, frame.seq, self._reload(tx, known))
        recent = self.join_open_case(tx, frame.event_id, uplink.received_at, now)
        if recent is not None:
            return _plan(frame, frame.seq, recent)
        case = self.open(tx, new, now)
        tx.link_event(frame.node_id, frame.boot_epoch, frame.seq, case.case_number)
        return AckPlan(frame.node_id, frame.boot_epoch, frame.seq, case.case_number, ACK_STATES.index(case.state), True)

    def join_open_case(
        self, tx: StoreTx, event_id: tuple[int, int, int], heard: datetime, now: datetime,
    ) -> Case | None:
        """One more press of a button whose case is open: the case first heard within the merge window of
        ``heard`` (when this press was heard), with a ``merged`` event and the press linked to it.

        Times are when a gateway heard each press, not when central processed it: after a ward's outage
        the presses reach central hours late, in any order, some as the ward's own case history, and
        they must still count as one emergency per household. None if there is no such case."""
        node_id, boot, seq = event_id
        ref = sos_case_ref(node_id, boot, seq)
        window = self._merge_window
        recent = tx.open_case_heard_between(node_id, iso(heard - window), iso(heard + window))
        if recent is None:
            return None
        self._ledger.record(tx, recent, "merged", now, INGEST, {"case_ref": ref}, f"central:{ref}:merged")
        tx.link_event(node_id, boot, seq, recent.case_number)
        return self._reload(tx, recent)

    def new_case(self, uplink: Uplink, record: NodeRecord, frame: Frame, sos: Sos, now: datetime) -> NewCase:
        """The case an SOS frame would open: located, triaged, not yet stored."""
        where = self.locate(uplink, record, sos)
        return NewCase(
            node_id=frame.node_id,
            boot_epoch=frame.boot_epoch,
            seq=frame.seq,
            ward_code=where.ward.code,
            ward_name=where.ward.name,
            authority=self._locator.authority_name(where.ward.code),
            kind=sos.kind,
            people=sos.people,
            vulnerable=sos.vulnerable,
            lat=where.lat,
            lon=where.lon,
            located_by=where.located_by,
            created_at=iso(now),
            heard_at=iso(uplink.received_at),
            gateway=uplink.gateway,
            case_ref=sos_case_ref(frame.node_id, frame.boot_epoch, frame.seq),
            priority=priority(sos.kind, sos.people, sos.vulnerable, self._flood_near(where.ward.code)),
        )

    def open(self, tx: StoreTx, new: NewCase, at: datetime, actor: str = INGEST, record_created: bool = True) -> Case:
        """Store a new case and its ``created`` event (``record_created=False``: a gateway's is merged instead)."""
        case = tx.case(tx.insert_case(new))
        if case is None:
            raise RuntimeError("case vanished inside its own transaction")
        if record_created:
            data: dict[str, str | int | float | bool | None] = {
                "kind": new.kind, "people": new.people, "vulnerable": new.vulnerable, "lat": new.lat,
                "lon": new.lon, "ward": new.ward_code, "located_by": new.located_by,
            }
            self._ledger.record(tx, case, "created", at, actor, data, f"central:{new.case_ref}:created")
        return self._reload(tx, case)

    def triage(self, kind: int, people: int, vulnerable: int, ward: str) -> int:
        """A case's priority from what it says and the flood near its ward."""
        return priority(kind, people, vulnerable, self._flood_near(ward))

    @property
    def locator(self) -> WardLocator:
        """The ward locator cases are placed with."""
        return self._locator

    @staticmethod
    def _reload(tx: StoreTx, case: Case) -> Case:
        fresh = tx.case(case.case_number)
        return case if fresh is None else fresh

    def cancel(self, tx: StoreTx, frame: Frame, now: datetime) -> AckPlan | None:
        """The resident withdraws an SOS of the same boot epoch; None if central never saw that SOS.

        Kept even if the case was resolved meanwhile (no event is lost): the fold then ignores it."""
        cancel = frame.payload
        if not isinstance(cancel, SosCancel):
            raise TypeError(f"not an SOS cancel frame: {frame!r}")
        case = tx.event_case(frame.node_id, frame.boot_epoch, cancel.sos_seq)
        if case is None:
            return None
        ref = sos_case_ref(frame.node_id, frame.boot_epoch, frame.seq)
        self._ledger.record(tx, case, "cancelled", now, f"node:{frame.node_id:08x}", {"by": "resident"},
                            f"central:{ref}:cancelled")
        tx.link_event(frame.node_id, frame.boot_epoch, frame.seq, case.case_number)
        case = self._reload(tx, case)
        return AckPlan(frame.node_id, frame.boot_epoch, cancel.sos_seq, case.case_number, ACK_STATES.index(case.state))

    def replay(self, tx: StoreTx, frame: Frame) -> AckPlan | None:
        """A duplicate SOS or cancel (the button missed the ACK): the ACK again, with the case's state now."""
        case = tx.event_case(frame.node_id, frame.boot_epoch, frame.seq)
        if case is None:
            return None
        payload = frame.payload
        sos_seq = payload.sos_seq if isinstance(payload, SosCancel) else frame.seq
        return _plan(frame, sos_seq, case)
