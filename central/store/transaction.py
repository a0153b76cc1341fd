"""Writes inside one store transaction: the ingest applies a whole batch through one of these."""

import dataclasses
import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from central.store.base import Change, Connection, Cursor, Dialect
from central.store.records import (
    Case,
    GatewayStatusRow,
    NewCase,
    NodeHealth,
    Projection,
    Reading,
    StoredAlert,
    StoredEvent,
)

EVENT_COLUMNS = "case_number, event_id, case_ref, kind, at, actor, data, stored_at"
OPEN = "('registered', 'acknowledged', 'dispatched')"

CASE_COLUMNS = (
    "case_number, node_id, boot_epoch, seq, ward_code, ward_name, authority, kind, people, vulnerable, "
    "lat, lon, located_by, state, created_at, heard_at, gateway, presses, case_ref, priority, escalation_level, "
    "escalated_to, due_at, acknowledged_at, resolved_at, closed_at, rating"
)


_INSERT_READING = (
    "INSERT INTO readings (node_id, boot_epoch, seq, station_id, node_ts, received_at, "
    "distance_mm, level_m, battery_pct, flags, qc_flag, qc_reason, level_at) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING"
)


def case_from_row(row: Sequence[Any]) -> Case:
    """A Case from a row selected with CASE_COLUMNS."""
    return Case(*row)


def _values(record: Any) -> tuple[Any, ...]:
    """A flat record's field values in order. ``dataclasses.astuple`` deep-copies every value,
    which costs more than the INSERT on the ingest path."""
    return tuple(getattr(record, f.name) for f in dataclasses.fields(record))


class StoreTx:
    """The write side of the store, valid only inside ``CentralStore.transaction()``."""

    def __init__(self, conn: Connection, dialect: Dialect) -> None:
        self._conn = conn
        self._dialect = dialect
        # What this transaction changed, told to CentralStore.on_commit observers after the commit. A hint
        # for live views, not a record: a rolled-back savepoint may leave one in, a re-read answers it.
        self.changed: set[Change] = set()

    @contextmanager
    def savepoint(self) -> Iterator[None]:
        """Undo one uplink's writes if handling it fails, without losing the rest of the batch."""
        self._conn.execute("SAVEPOINT uplink")
        try:
            yield
        except BaseException:
            self._conn.execute("ROLLBACK TO SAVEPOINT uplink")
            self._conn.execute("RELEASE SAVEPOINT uplink")
            raise
        self._conn.execute("RELEASE SAVEPOINT uplink")

    def bump_boot_epoch(self) -> int:
        """Increment and return central's boot epoch (u16, never 0)."""
        row = self._conn.execute("SELECT value FROM meta WHERE key = 'boot_epoch'").fetchone()
        epoch = (int(row[0]) if row else 0) % 0xFFFF + 1
        self._conn.execute(
            "INSERT INTO meta (key, value) VALUES ('boot_epoch', ?) "
            "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (epoch,),
        )
        return epoch

    def station_rule_state(self, station_id: str) -> tuple[int, str] | None:
        """(version, state text) of a station's flood rules, locked until commit on PostgreSQL."""
        # FOR UPDATE: two replicas with readings of the same station take turns instead of both
        # folding into the same old state (SQLite has one writer at a time anyway).
        lock = " FOR UPDATE" if self._dialect.name == "postgres" else ""
        row = self._conn.execute(
            f"SELECT version, state FROM station_rule_state WHERE station_id = ?{lock}", (station_id,)  # noqa: S608
        ).fetchone()
        return None if row is None else (int(row[0]), str(row[1]))

    def put_station_rule_state(self, station_id: str, version: int, state: str, at_iso: str) -> None:
        """Store a station's flood-rule state as ``version``."""
        self._conn.execute(
            "INSERT INTO station_rule_state (station_id, version, state, updated_at) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (station_id) DO UPDATE SET version = excluded.version, state = excluded.state, "
            "updated_at = excluded.updated_at",
            (station_id, version, state, at_iso),
        )

    def put_gateway_status(self, status: GatewayStatusRow) -> None:
        """Store a gateway's latest status. A last will keeps the outbox depth and radio state last reported
        (the will was fixed when the connection opened, it knows neither); a replay of the stored status (same
        ``sent_at``, or offline again) keeps ``heard_at``: the broker redelivers retained status on every
        reconnect of central, and that is not news from the gateway."""
        self._conn.execute(
            "INSERT INTO gateway_status (ward, gateway, online, outbox_pending, radio, sent_at, heard_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (ward, gateway) DO UPDATE SET "
            "outbox_pending = CASE WHEN excluded.online = 0 AND excluded.sent_at IS NULL "
            "THEN gateway_status.outbox_pending ELSE excluded.outbox_pending END, "
            "radio = CASE WHEN excluded.online = 0 AND excluded.sent_at IS NULL "
            "THEN gateway_status.radio ELSE excluded.radio END, "
            "heard_at = CASE WHEN excluded.sent_at = gateway_status.sent_at "
            "OR (excluded.online = 0 AND gateway_status.online = 0) "
            "THEN gateway_status.heard_at ELSE excluded.heard_at END, "
            "online = excluded.online, sent_at = excluded.sent_at",
            # online as 0/1: PostgreSQL will not put a boolean into the BIGINT column.
            (status.ward, status.gateway, int(status.online), status.outbox_pending, status.radio, status.sent_at,
             status.heard_at),
        )
        self.changed.add(("gateway", f"{status.ward}/{status.gateway}"))

    def claim_event(self, node_id: int, boot_epoch: int, seq: int, kind: str) -> bool:
        """Record an event id; False if it was seen before (a duplicate)."""
        cur = self._conn.execute(
            "INSERT INTO events (node_id, boot_epoch, seq, kind) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
            (node_id, boot_epoch, seq, kind),
        )
        return cur.rowcount == 1

    def unclaim_event(self, node_id: int, boot_epoch: int, seq: int) -> None:
        """Forget an event id claimed in this transaction whose handling failed (instead of a savepoint)."""
        self._conn.execute(
            "DELETE FROM events WHERE node_id = ? AND boot_epoch = ? AND seq = ?", (node_id, boot_epoch, seq)
        )

    def link_event(self, node_id: int, boot_epoch: int, seq: int, case_number: int) -> None:
        """Remember which case an SOS or cancel event resolved to."""
        self._conn.execute(
            "UPDATE events SET case_number = ? WHERE node_id = ? AND boot_epoch = ? AND seq = ?",
            (case_number, node_id, boot_epoch, seq),
        )

    def event_case(self, node_id: int, boot_epoch: int, seq: int) -> Case | None:
        """The case an earlier event resolved to, if any."""
        row = self._conn.execute(
            "SELECT case_number FROM events WHERE node_id = ? AND boot_epoch = ? AND seq = ?",
            (node_id, boot_epoch, seq),
        ).fetchone()
        if row is None or row[0] is None:
            return None
        return self.case(int(row[0]))

    def case(self, case_number: int) -> Case | None:
        """One case by number."""
        sql = f"SELECT {CASE_COLUMNS} FROM cases WHERE case_number = ?"  # noqa: S608 - constant columns
        row = self._conn.execute(sql, (case_number,)).fetchone()
        return None if row is None else case_from_row(row)

    def open_case_heard_between(self, node_id: int, first_iso: str, last_iso: str) -> Case | None:
        """The node's newest open case first heard between ``first_iso`` and ``last_iso``."""
        row = self._conn.execute(
            f"SELECT {CASE_COLUMNS} FROM cases WHERE node_id = ? AND state IN {OPEN} "  # noqa: S608 - constant
            "AND heard_at >= ? AND heard_at <= ? ORDER BY case_number DESC LIMIT 1",
            (node_id, first_iso, last_iso),
        ).fetchone()
        return None if row is None else case_from_row(row)

    def insert_case(self, new: NewCase) -> int:
        """Register a case; returns its number."""
        values = _values(new)
        rows = self._conn.execute(
            "INSERT INTO cases (node_id, boot_epoch, seq, ward_code, ward_name, authority, kind, people, "
            "vulnerable, lat, lon, located_by, created_at, heard_at, gateway, case_ref, priority, state) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'registered') RETURNING case_number",
            values,
        ).fetchall()  # fetch all: SQLite finishes the statement only when its rows are consumed
        return int(rows[0][0])

    def case_by_ref(self, case_ref: str) -> Case | None:
        """The case born from the SOS frame ``case_ref`` names."""
        sql = f"SELECT {CASE_COLUMNS} FROM cases WHERE case_ref = ?"  # noqa: S608 - constant columns
        row = self._conn.execute(sql, (case_ref,)).fetchone()
        return None if row is None else case_from_row(row)

    def relocate(self, case_number: int, new: NewCase) -> None:
        """A better location for a case first placed by its gateway's ward (the SOS frame came later)."""
        self._conn.execute(
            "UPDATE cases SET ward_code = ?, ward_name = ?, authority = ?, lat = ?, lon = ?, located_by = ?, "
            "heard_at = ?, gateway = ? WHERE case_number = ?",
            (new.ward_code, new.ward_name, new.authority, new.lat, new.lon, new.located_by, new.heard_at,
             new.gateway, case_number),
        )

    def add_event(self, event: StoredEvent) -> bool:
        """Store a case event; False if its id is already stored (histories merge by id)."""
        cur = self._conn.execute(
            f"INSERT INTO case_events ({EVENT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?) "  # noqa: S608
            "ON CONFLICT DO NOTHING",
            _values(event),
        )
        return cur.rowcount == 1

    def events(self, case_number: int) -> list[StoredEvent]:
        """A case's events in the order they were stored."""
        rows = self._conn.execute(
            f"SELECT {EVENT_COLUMNS} FROM case_events WHERE case_number = ? "  # noqa: S608
            f"ORDER BY {self._dialect.stored_order}",
            (case_number,),
        )
        return [StoredEvent(*r) for r in rows]

    def event_owner(self, event_id: str) -> int | None:
        """The case an event id is already stored under, if any."""
        row = self._conn.execute("SELECT case_number FROM case_events WHERE event_id = ?", (event_id,)).fetchone()
        return None if row is None else int(row[0])

    def project(self, case_number: int, p: Projection) -> None:
        """Write what the case's events add up to into the read model."""
        self._conn.execute(
            "UPDATE cases SET state = ?, presses = ?, priority = ?, escalation_level = ?, escalated_to = ?, "
            "due_at = ?, acknowledged_at = ?, resolved_at = ?, closed_at = ?, rating = ? WHERE case_number = ?",
            (*_values(p), case_number),
        )
        self.changed.add(("case", str(case_number)))

    def open_cases(self) -> list[Case]:
        """Every open case (for the deadline check)."""
        sql = f"SELECT {CASE_COLUMNS} FROM cases WHERE state IN {OPEN} ORDER BY case_number"  # noqa: S608
        return [case_from_row(r) for r in self._conn.execute(sql)]

    def directory(self, ward: str) -> str | None:
        """A ward's directory as stored (WardDirectory JSON)."""
        row = self._conn.execute("SELECT directory FROM ward_directory WHERE ward = ?", (ward,)).fetchone()
        return None if row is None else str(row[0])

    def put_directory(self, ward: str, directory_json: str, updated_at: str, replace: bool = True) -> bool:
        """Store a ward's directory; with ``replace=False`` only if the ward has none (seeding)."""
        conflict = "DO UPDATE SET directory = excluded.directory, updated_at = excluded.updated_at" if replace else (
            "DO NOTHING"
        )
        cur = self._conn.execute(
            f"INSERT INTO ward_directory (ward, directory, updated_at) VALUES (?, ?, ?) ON CONFLICT (ward) {conflict}",  # noqa: S608
            (ward, directory_json, updated_at),
        )
        return cur.rowcount == 1

    def execute(self, sql: str, args: tuple[object, ...] = ()) -> Cursor:
        """A raw statement (users and migrations); callers pass constant SQL and bind their values."""
        return self._conn.execute(sql, args)

    def insert_reading(self, reading: Reading) -> bool:
        """Store a reading; False if that event id is already stored."""
        cur = self._conn.execute(_INSERT_READING, _values(reading))
        if cur.rowcount != 1:
            return False
        if reading.station_id is not None:
            self.changed.add(("level", reading.station_id))
        return True

    def insert_readings(self, readings: Sequence[Reading]) -> None:
        """Store a batch's readings in one statement (their events are claimed: none is stored yet)."""
        # One executemany per batch instead of a statement per reading: the row work stays, the
        # per-call overhead goes. A reading already stored is still skipped (ON CONFLICT), never doubled.
        self._conn.executemany(_INSERT_READING, [_values(r) for r in readings])
        self.changed.update(("level", r.station_id) for r in readings if r.station_id is not None)

    def upsert_node_status(self, health: NodeHealth) -> None:
        """Keep the latest status per node (a late, older report does not overwrite a newer one)."""
        self._conn.execute(
            "INSERT INTO node_status (node_id, boot_epoch, seq, node_ts, received_at, battery_pct, uptime_s, "
            "unsent, gateway, ward) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (node_id) DO UPDATE SET boot_epoch = excluded.boot_epoch, seq = excluded.seq, "
            "node_ts = excluded.node_ts, received_at = excluded.received_at, battery_pct = excluded.battery_pct, "
            "uptime_s = excluded.uptime_s, unsent = excluded.unsent, gateway = excluded.gateway, "
            "ward = excluded.ward WHERE excluded.received_at >= node_status.received_at",
            _values(health),
        )

    def count_rejection(self, reason: str, n: int = 1) -> None:
        """Add to the count of uplinks refused for ``reason``."""
        self._conn.execute(
            "INSERT INTO rejections (reason, count) VALUES (?, ?) "
            "ON CONFLICT (reason) DO UPDATE SET count = rejections.count + excluded.count",
            (reason, n),
        )

    def bump(self, counter: str, n: int = 1) -> None:
        """Add to a named counter (acks_sent, duplicates, ...)."""
        self._conn.execute(
            "INSERT INTO counters (name, value) VALUES (?, ?) "
            "ON CONFLICT (name) DO UPDATE SET value = counters.value + excluded.value",
            (counter, n),
        )

    def bump_counter_value(self, counter: str) -> int:
        """Add one to a named counter and return its new value."""
        self.bump(counter)
        row = self._conn.execute("SELECT value FROM counters WHERE name = ?", (counter,)).fetchone()
        return int(row[0])

    def insert_alert(self, alert: StoredAlert) -> int:
        """Store an alert event (its ``id`` is ignored); returns the id it got."""
        rows = self._conn.execute(
            "INSERT INTO alerts (station_id, kind, level, level_m, rate_m_per_h, eta_next_s, next_level, at, wards, "
            "text) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
            (alert.station_id, alert.kind, alert.level, alert.level_m, alert.rate_m_per_h, alert.eta_next_s,
             alert.next_level, alert.at, json.dumps(list(alert.wards)), alert.text),
        ).fetchall()
        self.changed.add(("alert", alert.station_id))
        return int(rows[0][0])

    def set_report_interval(self, node_id: int, interval_s: int, sent_at: str) -> None:
        """Remember the report interval central told a sensor."""
        self._conn.execute(
            "INSERT INTO sensor_config (node_id, report_interval_s, sent_at) VALUES (?, ?, ?) "
            "ON CONFLICT (node_id) DO UPDATE SET report_interval_s = excluded.report_interval_s, "
            "sent_at = excluded.sent_at",
            (node_id, interval_s, sent_at),
        )
