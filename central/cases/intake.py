"""SOS and cancel frames become cases; each one earns an ACK for the button that sent it."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from central.geo.ward_locator import WardLocator, WardMatch
from central.store.records import Case, NewCase, iso
from central.store.transaction import StoreTx
from protocol.envelopes import Uplink
from protocol.frames import ACK_STATES, Frame, Sos, SosCancel
from protocol.registry import NodeRecord

MERGE_WINDOW = timedelta(minutes=30)


@dataclass(frozen=True)
class AckPlan:
    """What to tell a button: its SOS ``sos_seq`` is case ``case_number`` in ``state`` (frames.ACK_STATES)."""

    node_id: int
    sos_boot: int
    sos_seq: int
    case_number: int
    state: int


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

    def __init__(self, locator: WardLocator, merge_window: timedelta = MERGE_WINDOW) -> None:
        self._locator = locator
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
        """A new SOS: fold it into the node's open case of the last 30 minutes, or open a case."""
        sos = frame.payload
        if not isinstance(sos, Sos):
            raise TypeError(f"not an SOS frame: {frame!r}")
        recent = tx.open_case_since(frame.node_id, iso(now - self._merge_window))
        if recent is not None:
            # The resident pressed again (new seq) before help came: same case, one more press.
            tx.add_press(recent.case_number)
            tx.link_event(frame.node_id, frame.boot_epoch, frame.seq, recent.case_number)
            return _plan(frame, frame.seq, recent)
        where = self.locate(uplink, record, sos)
        new = NewCase(
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
        )
        case_number = tx.insert_case(new)
        tx.link_event(frame.node_id, frame.boot_epoch, frame.seq, case_number)
        return AckPlan(frame.node_id, frame.boot_epoch, frame.seq, case_number, ACK_STATES.index("registered"))

    def cancel(self, tx: StoreTx, frame: Frame) -> AckPlan | None:
        """The resident withdraws an SOS of the same boot epoch; None if central never saw that SOS."""
        cancel = frame.payload
        if not isinstance(cancel, SosCancel):
            raise TypeError(f"not an SOS cancel frame: {frame!r}")
        case = tx.event_case(frame.node_id, frame.boot_epoch, cancel.sos_seq)
        if case is None:
            return None
        tx.set_state(case.case_number, "cancelled")
        tx.link_event(frame.node_id, frame.boot_epoch, frame.seq, case.case_number)
        return AckPlan(frame.node_id, frame.boot_epoch, cancel.sos_seq, case.case_number, ACK_STATES.index("cancelled"))

    def replay(self, tx: StoreTx, frame: Frame) -> AckPlan | None:
        """A duplicate SOS or cancel (the button missed the ACK): the ACK again, with the case's state now."""
        case = tx.event_case(frame.node_id, frame.boot_epoch, frame.seq)
        if case is None:
            return None
        payload = frame.payload
        sos_seq = payload.sos_seq if isinstance(payload, SosCancel) else frame.seq
        return _plan(frame, sos_seq, case)
