"""The ward's own case book, for when central cannot be reached.

Local cases live in tables beside the outbox; every change is also queued in the outbox as
``CaseEvent``s, in the same transaction, so central receives the ward's history when the backhaul
returns and merges it by event id. Event ids are deterministic (gateway, case, kind): a gateway that
crashes and redoes a step produces the same event again, which the union absorbs.
"""

import json
import sqlite3
from dataclasses import dataclass, replace
from datetime import datetime

from gateway.outbox import CASE_EVENTS, InboundFrame, Outbox
from protocol import frames
from protocol.envelopes import CaseEvent, sos_case_ref

LOCAL_CASE_FLAG = 0x80000000  # case numbers the ward gave itself, before central's
STATE_ORDER = ("registered", "acknowledged", "dispatched", "resolved")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS ward_cases (
    label TEXT PRIMARY KEY,          -- 'L3' for local cases, '42' for central's
    case_ref TEXT NOT NULL,
    node_id INTEGER NOT NULL,
    sos_boot INTEGER NOT NULL,
    sos_seq INTEGER NOT NULL,
    case_number INTEGER NOT NULL,    -- what the button's ACK carries
    kind INTEGER NOT NULL,
    people INTEGER NOT NULL,
    state TEXT NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS ward_cases_ref ON ward_cases (case_ref, label);
CREATE TABLE IF NOT EXISTS ward_counter (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
"""


_SELECT = "SELECT label, case_ref, node_id, sos_boot, sos_seq, case_number, kind, people, state FROM ward_cases "


class IllegalTransition(ValueError):
    """An official asked for a state the case cannot move to."""


@dataclass(frozen=True)
class WardCase:
    """A case as the ward gateway knows it."""

    label: str
    case_ref: str
    node_id: int
    sos_boot: int
    sos_seq: int
    case_number: int
    kind: int
    people: int
    state: str

    def summary(self) -> str:
        """One short line for a handheld radio's screen."""
        return f"{self.label} {frames.SOS_KINDS[self.kind]} {self.people}p {self.state}"


class WardCaseBook:
    """Local cases and cases learned from central's ACKs, with their events queued for central."""

    def __init__(self, outbox: Outbox, gateway_id: str, ward: str) -> None:
        self._outbox = outbox
        self._gateway_id = gateway_id
        self._ward = ward
        outbox.ensure_schema(_SCHEMA)

    def _row(self, db: sqlite3.Connection, where: str, args: tuple[object, ...]) -> WardCase | None:
        row = db.execute(_SELECT + where, args).fetchone()
        return WardCase(*row) if row else None

    def find(self, label: str) -> WardCase | None:
        """The case an official names ('L3' or '42')."""
        with self._outbox.transaction() as db:
            return self._row(db, "WHERE label = ?", (label,))

    def for_ref(self, case_ref: str) -> WardCase | None:
        """The case of one SOS, if the ward knows it (a central number wins over a local one)."""
        with self._outbox.transaction() as db:
            return self._row(db, "WHERE case_ref = ? ORDER BY label GLOB 'L*'", (case_ref,))

    def open_cases(self) -> list[WardCase]:
        """Cases not yet resolved or cancelled, oldest first."""
        with self._outbox.transaction() as db:
            rows = db.execute(_SELECT + "WHERE state NOT IN ('resolved', 'cancelled') ORDER BY rowid").fetchall()
        return [WardCase(*r) for r in rows]

    def open_case_of(self, node_id: int) -> WardCase | None:
        """The button's newest case not yet resolved or cancelled (local or central's), if any."""
        with self._outbox.transaction() as db:
            return self._row(db, "WHERE node_id = ? AND state NOT IN ('resolved', 'cancelled') "
                                 "ORDER BY rowid DESC LIMIT 1", (node_id,))

    def open_local(self, frame: frames.Frame, signed: bytes, now: datetime, officers: list[int]) -> WardCase | None:
        """Register an SOS locally (None if the ward already has it) and queue created + notified.

        ``signed`` is the frame as the button sent it: ``created`` carries it so that central opens a
        case it never saw only from what the button signed, never on this gateway's word alone."""
        sos = frame.payload
        if not isinstance(sos, frames.Sos):
            raise TypeError("not an SOS frame")
        ref = sos_case_ref(*frame.event_id)
        with self._outbox.transaction() as db:
            if self._row(db, "WHERE case_ref = ?", (ref,)) is not None:
                return None
            n = self._next_local(db)
            case = WardCase(f"L{n}", ref, frame.node_id, frame.boot_epoch, frame.seq, LOCAL_CASE_FLAG | n,
                            sos.kind, sos.people, "registered")
            db.execute("INSERT INTO ward_cases VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                       (case.label, ref, case.node_id, case.sos_boot, case.sos_seq, case.case_number, case.kind,
                        case.people, case.state))
            lat = sos.lat_e6 / 1e6 if sos.lat_e6 is not None else None
            lon = sos.lon_e6 / 1e6 if sos.lon_e6 is not None else None
            created: dict[str, object] = {"kind": sos.kind, "people": sos.people, "vulnerable": sos.vulnerable,
                                          "lat": lat, "lon": lon, "local_case": n,
                                          "frame": signed.hex()}
            self._queue(db, now, [self._event(ref, "created", now, f"gateway:{self._gateway_id}", created),
                                  self._event(ref, "notified", now, f"gateway:{self._gateway_id}",
                                              {"officers": ",".join(f"{o:08x}" for o in officers)})])
        return case

    def learn_central(self, node_id: int, ack: frames.Ack) -> None:
        """Central's ACK names its case number for an SOS: officials may use it from now on."""
        ref = sos_case_ref(node_id, ack.sos_boot, ack.sos_seq)
        state = frames.ACK_STATES[ack.state] if ack.state < len(frames.ACK_STATES) else "registered"
        # Not fsynced here (that would hold the worker, and the next SOS, for a disk flush): the
        # outbox's flusher makes it durable within milliseconds. What a power cut can take is a copy:
        # central keeps the case; and while the SOS is unacknowledged in the outbox (central sends
        # the ACK frame before its app ack), a restarted gateway sends it again and learns again.
        with self._outbox.transaction(durable=False) as db:
            local = self._row(db, "WHERE case_ref = ?", (ref,))
            kind, people = (local.kind, local.people) if local else (0, 1)
            db.execute("INSERT OR REPLACE INTO ward_cases VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                       (str(ack.case_number), ref, node_id, ack.sos_boot, ack.sos_seq, ack.case_number, kind, people,
                        state))

    def transition(self, label: str, state: str, officer: int, now: datetime) -> WardCase:
        """An official moves a case forward; queued as an event for central."""
        with self._outbox.transaction() as db:
            case = self._row(db, "WHERE label = ?", (label,))
            if case is None:
                raise IllegalTransition(f"no case {label} in this ward")
            if case.state in ("resolved", "cancelled") or STATE_ORDER.index(state) <= STATE_ORDER.index(case.state):
                raise IllegalTransition(f"case {label} is {case.state}")
            db.execute("UPDATE ward_cases SET state = ? WHERE case_ref = ?", (state, case.case_ref))
            self._queue(db, now, [self._event(case.case_ref, state, now, f"officer:{officer:08x}", {})])
        return replace(case, state=state)

    def _next_local(self, db: sqlite3.Connection) -> int:
        db.execute("INSERT OR IGNORE INTO ward_counter VALUES ('local_case', 0)")
        db.execute("UPDATE ward_counter SET value = value + 1 WHERE name = 'local_case'")
        return int(db.execute("SELECT value FROM ward_counter WHERE name = 'local_case'").fetchone()[0])

    def _event(self, ref: str, kind: str, now: datetime, actor: str, data: dict[str, object]) -> CaseEvent:
        return CaseEvent.model_validate({"event_id": f"{self._gateway_id}:{ref}:{kind}", "case_ref": ref,
                                         "kind": kind, "at": now, "actor": actor, "data": data})

    def _queue(self, db: sqlite3.Connection, now: datetime, events: list[CaseEvent]) -> None:
        body = json.dumps([e.model_dump(mode="json") for e in events]).encode()
        self._outbox.insert(db, InboundFrame(0, CASE_EVENTS, body, now.isoformat()))
