"""Schema of the central store (SQLite, translated for PostgreSQL); every statement is idempotent."""

import re

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (
    key TEXT PRIMARY KEY,
    value INTEGER NOT NULL
);
-- One row per accepted radio event: the dedupe key of every frame type, and the case an SOS or
-- cancel resolved to (so a retried or merged press is answered with the same case number).
CREATE TABLE IF NOT EXISTS events (
    node_id INTEGER NOT NULL,
    boot_epoch INTEGER NOT NULL,
    seq INTEGER NOT NULL,
    kind TEXT NOT NULL,
    case_number INTEGER,
    PRIMARY KEY (node_id, boot_epoch, seq)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS readings (
    id INTEGER PRIMARY KEY,
    node_id INTEGER NOT NULL,
    boot_epoch INTEGER NOT NULL,
    seq INTEGER NOT NULL,
    station_id TEXT,
    node_ts INTEGER NOT NULL,
    received_at TEXT NOT NULL,
    distance_mm INTEGER NOT NULL,
    level_m REAL,
    battery_pct INTEGER NOT NULL,
    flags INTEGER NOT NULL,
    UNIQUE (node_id, boot_epoch, seq)
);
CREATE INDEX IF NOT EXISTS readings_by_station ON readings (station_id, received_at);
CREATE TABLE IF NOT EXISTS cases (
    case_number INTEGER PRIMARY KEY AUTOINCREMENT,
    node_id INTEGER NOT NULL,
    boot_epoch INTEGER NOT NULL,
    seq INTEGER NOT NULL,
    ward_code TEXT NOT NULL,
    ward_name TEXT NOT NULL,
    authority TEXT NOT NULL,
    kind INTEGER NOT NULL,
    people INTEGER NOT NULL,
    vulnerable INTEGER NOT NULL,
    lat REAL,
    lon REAL,
    located_by TEXT NOT NULL CHECK (located_by IN ('gps', 'registry', 'gateway')),
    state TEXT NOT NULL CHECK (state IN ('registered', 'acknowledged', 'dispatched', 'resolved', 'cancelled')),
    created_at TEXT NOT NULL,
    heard_at TEXT NOT NULL,
    gateway TEXT NOT NULL,
    presses INTEGER NOT NULL DEFAULT 1,
    UNIQUE (node_id, boot_epoch, seq)
);
CREATE INDEX IF NOT EXISTS cases_by_node ON cases (node_id, state, created_at);
CREATE TABLE IF NOT EXISTS node_status (
    node_id INTEGER PRIMARY KEY,
    boot_epoch INTEGER NOT NULL,
    seq INTEGER NOT NULL,
    node_ts INTEGER NOT NULL,
    received_at TEXT NOT NULL,
    battery_pct INTEGER NOT NULL,
    uptime_s INTEGER NOT NULL,
    unsent INTEGER NOT NULL,
    gateway TEXT NOT NULL,
    ward TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS rejections (
    reason TEXT PRIMARY KEY,
    count INTEGER NOT NULL
);
-- Flood alert events (central/telemetry/rules.py), served by /api/alerts and /api/alerts.cap.
CREATE TABLE IF NOT EXISTS alerts (
    id INTEGER PRIMARY KEY,
    station_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    level TEXT NOT NULL,
    level_m REAL NOT NULL,
    rate_m_per_h REAL,
    eta_next_s REAL,
    next_level TEXT,
    at TEXT NOT NULL,
    wards TEXT NOT NULL,
    text TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS alerts_by_station ON alerts (station_id, id);
-- The report interval central last told each sensor (adaptive reporting).
CREATE TABLE IF NOT EXISTS sensor_config (
    node_id INTEGER PRIMARY KEY,
    report_interval_s INTEGER NOT NULL,
    sent_at TEXT NOT NULL
);
-- The source of truth of every case: its events (central/cases/history.py); `cases` is their projection.
CREATE TABLE IF NOT EXISTS case_events (
    event_id TEXT PRIMARY KEY,
    case_number INTEGER NOT NULL,
    case_ref TEXT NOT NULL,
    kind TEXT NOT NULL,
    at TEXT NOT NULL,
    actor TEXT NOT NULL,
    data TEXT NOT NULL,
    stored_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS case_events_by_case ON case_events (case_number, at);
-- Each ward's directory (a protocol.envelopes.WardDirectory as JSON), seeded from authorities.csv.
CREATE TABLE IF NOT EXISTS ward_directory (
    ward TEXT PRIMARY KEY,
    directory TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
-- API users: IOC operators, ward officials, gateways (device tokens); secrets only as scrypt hashes.
CREATE TABLE IF NOT EXISTS users (
    name TEXT PRIMARY KEY,
    role TEXT NOT NULL CHECK (role IN ('operator', 'ward', 'gateway')),
    ward TEXT,
    token_hash TEXT NOT NULL,
    password_hash TEXT,
    created_at TEXT NOT NULL,
    revoked_at TEXT
);
CREATE TABLE IF NOT EXISTS counters (
    name TEXT PRIMARY KEY,
    value INTEGER NOT NULL
);
"""

# Columns added after the first release: (table, column, declaration). Applied when missing.
MIGRATIONS = (
    ("readings", "qc_flag", "INTEGER NOT NULL DEFAULT 2"),
    ("readings", "qc_reason", "TEXT"),
    ("readings", "level_at", "TEXT"),
    ("cases", "case_ref", "TEXT"),
    ("cases", "priority", "INTEGER NOT NULL DEFAULT 3"),
    ("cases", "escalation_level", "INTEGER NOT NULL DEFAULT 0"),
    ("cases", "escalated_to", "TEXT"),
    ("cases", "due_at", "TEXT"),
    ("cases", "acknowledged_at", "TEXT"),
    ("cases", "resolved_at", "TEXT"),
    ("cases", "closed_at", "TEXT"),
    ("cases", "rating", "INTEGER"),
)
# Versioned migrations: (version, SQLite DDL), applied once each in order on either backend; the store's
# version is ``meta['schema_version']``. New tables go here rather than into SCHEMA.
SCHEMA_VERSION_KEY = "schema_version"
VERSIONED_MIGRATIONS: tuple[tuple[int, str], ...] = (
    (1, """
-- Each station's flood-rule state (central/telemetry/rule_state.py): the level in force, its pending
-- change and the trend window, so any central replica (or a restarted central) continues it. ``version``
-- goes up on every write: a replica re-reads the state only when another one changed it.
CREATE TABLE IF NOT EXISTS station_rule_state (
    station_id TEXT PRIMARY KEY,
    version INTEGER NOT NULL,
    state TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
"""),
    (2, """
-- Each gateway's own retained status (central/ingest/gateway_status.py): online or not (its last will
-- says not), outbox depth and radio link state, the gateway's own time of it (``sent_at``, absent in a
-- last will) and when central heard it. A retained status redelivered to central on a reconnect carries
-- the same ``sent_at`` and does not refresh ``heard_at``.
CREATE TABLE IF NOT EXISTS gateway_status (
    ward TEXT NOT NULL,
    gateway TEXT NOT NULL,
    online INTEGER NOT NULL,
    outbox_pending INTEGER NOT NULL,
    radio TEXT,
    sent_at TEXT,
    heard_at TEXT NOT NULL,
    PRIMARY KEY (ward, gateway)
);
"""),
)


def migrations_after(version: int) -> list[tuple[int, str]]:
    """The versioned migrations a store at ``version`` still needs, in order."""
    return [(v, ddl) for v, ddl in VERSIONED_MIGRATIONS if v > version]


OLD_CASES_CHECK = "CHECK (state IN ('registered', 'cancelled'))"
"""The first release's cases table allowed two states; a store still carrying it is rebuilt on open."""
INDEXES_AFTER_MIGRATIONS = """
CREATE INDEX IF NOT EXISTS readings_by_level_at ON readings (station_id, level_at);
CREATE UNIQUE INDEX IF NOT EXISTS cases_by_ref ON cases (case_ref);
CREATE INDEX IF NOT EXISTS cases_by_ward ON cases (ward_code, state, priority);
"""

# PostgreSQL runs the same schema, translated: rowid aliases become identity columns, integers 64-bit,
# reals double precision, and text compares byte-wise ("C") so names and timestamps sort as in SQLite.
_TO_POSTGRES = (
    (r"\bINTEGER PRIMARY KEY AUTOINCREMENT\b", "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY"),
    (r"\bid INTEGER PRIMARY KEY\b", "id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY"),
    (r"\) WITHOUT ROWID;", ");"),
    (r"\bINTEGER\b", "BIGINT"),
    (r"\bREAL\b", "DOUBLE PRECISION"),
    (r"\bTEXT\b", 'TEXT COLLATE "C"'),
)
POSTGRES_ONLY = """
-- SQLite orders case events by rowid; PostgreSQL has no rowid, so they carry their storing order.
ALTER TABLE case_events ADD COLUMN IF NOT EXISTS stored_order BIGINT GENERATED ALWAYS AS IDENTITY;
CREATE INDEX IF NOT EXISTS case_events_in_order ON case_events (case_number, stored_order);
"""


def to_postgres(sqlite_ddl: str) -> str:
    """The PostgreSQL form of SQLite DDL written in this module."""
    for pattern, replacement in _TO_POSTGRES:
        sqlite_ddl = re.sub(pattern, replacement, sqlite_ddl)
    return sqlite_ddl


def postgres_schema() -> str:
    """Every statement that creates or migrates the PostgreSQL schema, idempotent like SCHEMA."""
    columns = "".join(
        f"ALTER TABLE {table} ADD COLUMN IF NOT EXISTS {column} {to_postgres(decl)};\n"
        for table, column, decl in MIGRATIONS
    )
    return to_postgres(SCHEMA) + columns + to_postgres(INDEXES_AFTER_MIGRATIONS) + POSTGRES_ONLY
