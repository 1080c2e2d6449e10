//! The PostgreSQL schema, as numbered migrations run at start (house style: `VERSION`, the
//! schema as SQL, `upgrade_from`). Its version 1 is the SQLite schema's version 7 in
//! PostgreSQL's types, with the feed numbered per company (`feed_heads`).
//!
//! Several server processes may start at once (a rolling upgrade): the migrations run in one
//! transaction under a transaction-level advisory lock, so one process migrates and the others
//! wait, then find nothing to do. A migration only ever adds (a table, a column with a default,
//! an index), so processes of the previous version keep working while the new ones start.

use super::Tx;

use super::super::{StoreError, StoreResult};

pub const VERSION: i32 = 1;

/// The advisory lock the migrations hold ("MUSV", as the SQLite store's application id).
const MIGRATION_LOCK: i64 = 0x4D55_5356;

/// Version 1: every table the SQLite schema 7 has.
const V1: &str = r#"
CREATE TABLE companies (
    id   TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE
);

CREATE TABLE sites (
    id             TEXT PRIMARY KEY,
    tenant_id      TEXT NOT NULL REFERENCES companies(id),
    name           TEXT NOT NULL,
    geofence       TEXT,
    max_accuracy_m DOUBLE PRECISION NOT NULL DEFAULT 50,
    time_zone      TEXT NOT NULL DEFAULT 'America/Edmonton',
    UNIQUE (tenant_id, name)
);

CREATE TABLE users (
    id            TEXT PRIMARY KEY,
    tenant_id     TEXT NOT NULL REFERENCES companies(id),
    email         TEXT NOT NULL,
    name          TEXT NOT NULL,
    role          TEXT NOT NULL CHECK (role IN ('worker', 'supervisor', 'admin')),
    password_hash TEXT NOT NULL,
    sites         TEXT NOT NULL,
    disabled      BOOLEAN NOT NULL DEFAULT FALSE
);
-- An email address is one person's, however it is capitalised.
CREATE UNIQUE INDEX users_by_email ON users (lower(email));

CREATE TABLE devices (
    id              TEXT PRIMARY KEY,
    tenant_id       TEXT NOT NULL REFERENCES companies(id),
    user_id         TEXT NOT NULL REFERENCES users(id),
    name            TEXT NOT NULL,
    enrolled_at_ms  BIGINT NOT NULL,
    last_sync_at_ms BIGINT,
    last_clock      TEXT,
    revoked_at_ms   BIGINT
);

CREATE TABLE refresh_tokens (
    token_hash    TEXT PRIMARY KEY,
    device_id     TEXT NOT NULL REFERENCES devices(id),
    user_id       TEXT NOT NULL,
    tenant_id     TEXT NOT NULL,
    expires_at_ms BIGINT NOT NULL,
    used_at_ms    BIGINT,
    replaced_by   TEXT
);
CREATE INDEX refresh_tokens_by_device ON refresh_tokens (device_id);

CREATE TABLE actors (
    actor     TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL,
    user_id   TEXT NOT NULL,
    device_id TEXT NOT NULL,
    anonymous BOOLEAN NOT NULL DEFAULT FALSE
);
CREATE INDEX actors_by_device ON actors (device_id);

CREATE TABLE audit_log (
    id        BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id TEXT NOT NULL,
    at_ms     BIGINT NOT NULL,
    user_id   TEXT NOT NULL,
    action    TEXT NOT NULL,
    detail    TEXT NOT NULL
);
CREATE INDEX audit_by_tenant ON audit_log (tenant_id, at_ms DESC, id DESC);

-- Each company's latest feed position. A write takes its next seq by updating this row, which
-- holds the row until the write commits: a company's feed entries commit in seq order, so a
-- device that has read seq n can never later miss an entry below n (ARCHITECTURE.md, "the
-- feed"). Companies never wait for each other.
CREATE TABLE feed_heads (
    tenant_id TEXT PRIMARY KEY REFERENCES companies(id),
    seq       BIGINT NOT NULL
);

-- One row per record: the latest compacted snapshot and the feed position it includes.
CREATE TABLE documents (
    id           TEXT NOT NULL,
    tenant_id    TEXT NOT NULL REFERENCES companies(id),
    kind         TEXT NOT NULL,
    site_id      TEXT NOT NULL,
    created_by   TEXT NOT NULL,
    snapshot     BYTEA NOT NULL,
    snapshot_seq BIGINT NOT NULL,
    chunk_count  BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, id)
);

-- The change feed: every accepted push, numbered per company.
CREATE TABLE feed (
    tenant_id     TEXT NOT NULL,
    seq           BIGINT NOT NULL,
    doc_id        TEXT NOT NULL,
    kind          TEXT NOT NULL,
    site_id       TEXT NOT NULL,
    created_by    TEXT NOT NULL,
    origin_device TEXT NOT NULL,
    bytes         BYTEA NOT NULL,
    -- A random fingerprint: a device's cursor names one, so a restored store is detected.
    nonce         BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, seq),
    FOREIGN KEY (tenant_id, doc_id) REFERENCES documents (tenant_id, id)
);
CREATE INDEX feed_by_doc ON feed (tenant_id, doc_id, seq);
CREATE INDEX feed_by_site ON feed (tenant_id, site_id, seq);
CREATE INDEX feed_by_author ON feed (tenant_id, created_by, seq);

CREATE TABLE records (
    id                 TEXT NOT NULL,
    tenant_id          TEXT NOT NULL,
    kind               TEXT NOT NULL,
    site_id            TEXT NOT NULL,
    job_id             TEXT,
    status             TEXT NOT NULL,
    title              TEXT NOT NULL,
    created_by         TEXT NOT NULL,
    created_at_ms      BIGINT NOT NULL,
    completed_at_ms    BIGINT,
    work_started_at_ms BIGINT,
    flags              TEXT NOT NULL,
    blocking_findings  BIGINT NOT NULL,
    conflicts          BIGINT NOT NULL,
    content_hash       TEXT NOT NULL,
    closed_at_ms       BIGINT,
    assignee           TEXT,
    due_at_ms          BIGINT,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, id) REFERENCES documents (tenant_id, id)
);
CREATE INDEX records_by_tenant ON records (tenant_id, created_at_ms DESC, id);
CREATE INDEX records_by_site ON records (tenant_id, site_id, created_at_ms DESC);
CREATE INDEX records_by_kind ON records (tenant_id, kind, created_at_ms DESC);
CREATE INDEX records_by_assignee ON records (tenant_id, assignee, due_at_ms) WHERE assignee IS NOT NULL;

CREATE TABLE record_flags (
    tenant_id TEXT NOT NULL,
    record_id TEXT NOT NULL,
    code      TEXT NOT NULL,
    flag      TEXT NOT NULL,
    PRIMARY KEY (tenant_id, record_id, code, flag),
    FOREIGN KEY (tenant_id, record_id) REFERENCES records (tenant_id, id)
);
CREATE INDEX record_flags_by_code ON record_flags (tenant_id, code, record_id);

CREATE TABLE clock_anchors (
    id             BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    boot_id        TEXT NOT NULL,
    device_id      TEXT NOT NULL,
    tenant_id      TEXT NOT NULL,
    monotonic_ms   BIGINT NOT NULL,
    device_wall_ms BIGINT NOT NULL,
    server_ms      BIGINT NOT NULL,
    uncertainty_ms BIGINT NOT NULL
);
CREATE INDEX clock_anchors_by_device ON clock_anchors (tenant_id, device_id, boot_id, server_ms);

CREATE TABLE record_stamps (
    tenant_id    TEXT NOT NULL,
    doc_id       TEXT NOT NULL,
    device_id    TEXT NOT NULL,
    boot_id      TEXT NOT NULL,
    monotonic_ms BIGINT NOT NULL,
    FOREIGN KEY (tenant_id, doc_id) REFERENCES documents (tenant_id, id)
);
CREATE INDEX record_stamps_by_boot ON record_stamps (tenant_id, device_id, boot_id, monotonic_ms);
CREATE INDEX record_stamps_by_doc ON record_stamps (tenant_id, doc_id);

CREATE TABLE rejudge_queue (
    tenant_id    TEXT NOT NULL,
    doc_id       TEXT NOT NULL,
    reason       TEXT NOT NULL,
    queued_at_ms BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, doc_id),
    FOREIGN KEY (tenant_id, doc_id) REFERENCES documents (tenant_id, id)
);
CREATE INDEX rejudge_queue_by_time ON rejudge_queue (queued_at_ms, doc_id);

CREATE TABLE rejudge_at (
    tenant_id TEXT NOT NULL,
    doc_id    TEXT NOT NULL,
    at_ms     BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, doc_id),
    FOREIGN KEY (tenant_id, doc_id) REFERENCES documents (tenant_id, id)
);
CREATE INDEX rejudge_at_by_time ON rejudge_at (at_ms);

CREATE TABLE web_sessions (
    token_hash      TEXT PRIMARY KEY,
    tenant_id       TEXT NOT NULL REFERENCES companies(id),
    user_id         TEXT NOT NULL REFERENCES users(id),
    csrf_token      TEXT NOT NULL,
    created_at_ms   BIGINT NOT NULL,
    last_seen_at_ms BIGINT NOT NULL,
    ended_at_ms     BIGINT
);
CREATE INDEX web_sessions_by_user ON web_sessions (tenant_id, user_id);

CREATE TABLE equipment_units (
    tenant_id             TEXT NOT NULL REFERENCES companies(id),
    unit_key              TEXT NOT NULL,
    unit_id               TEXT NOT NULL,
    make_model            TEXT NOT NULL,
    serial                TEXT,
    equipment_type        TEXT NOT NULL DEFAULT '',
    required_certificates TEXT NOT NULL DEFAULT '[]',
    hour_meter            DOUBLE PRECISION,
    added_at_ms           BIGINT NOT NULL,
    added_by              TEXT NOT NULL,
    added_from_record     TEXT,
    retired               BOOLEAN NOT NULL DEFAULT FALSE,
    PRIMARY KEY (tenant_id, unit_key)
);

CREATE TABLE equipment_holds (
    tenant_id      TEXT NOT NULL REFERENCES companies(id),
    unit_key       TEXT NOT NULL,
    action_id      TEXT NOT NULL,
    source_record  TEXT NOT NULL,
    held_at_ms     BIGINT NOT NULL,
    released_at_ms BIGINT,
    PRIMARY KEY (tenant_id, action_id)
);
CREATE INDEX equipment_holds_by_unit ON equipment_holds (tenant_id, unit_key, held_at_ms);

CREATE TABLE inspection_schedules (
    id            TEXT NOT NULL,
    tenant_id     TEXT NOT NULL REFERENCES companies(id),
    site_id       TEXT NOT NULL,
    title         TEXT NOT NULL,
    checklist     TEXT NOT NULL,
    rrule         TEXT NOT NULL,
    starts_at_ms  BIGINT NOT NULL,
    assignee      TEXT NOT NULL,
    created_by    TEXT NOT NULL,
    created_at_ms BIGINT NOT NULL,
    ended_at_ms   BIGINT,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX inspection_schedules_by_site ON inspection_schedules (tenant_id, site_id);

-- Rate limits shared by every server process: one token bucket per key (a device, an account's
-- failed sign-ins, a client address's). Unlogged: a bucket is written on every request, and
-- after a crash PostgreSQL empties the table, which only refills every budget.
CREATE UNLOGGED TABLE rate_buckets (
    key    TEXT PRIMARY KEY,
    tokens DOUBLE PRECISION NOT NULL,
    at_ms  BIGINT NOT NULL
);
"#;

/// Brings the database to [`VERSION`], in one transaction; returns the version it found.
pub(super) fn migrate(tx: &mut Tx<'_>) -> StoreResult<i32> {
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])?;
    tx.batch_execute(
        "CREATE TABLE IF NOT EXISTS muster_schema (
             version    INTEGER PRIMARY KEY,
             applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
         )",
    )?;
    let found: i32 = tx
        .query_one("SELECT COALESCE(max(version), 0) FROM muster_schema", &[])?
        .get(0);
    if found > VERSION {
        return Err(StoreError::Invalid(format!(
            "the record store was written by a newer server (schema {found}, this server knows {VERSION})"
        )));
    }
    for version in found..VERSION {
        tx.batch_execute(upgrade_from(version)?)?;
        tx.execute(
            "INSERT INTO muster_schema (version) VALUES ($1)",
            &[&(version + 1)],
        )?;
    }
    Ok(found)
}

fn upgrade_from(version: i32) -> StoreResult<&'static str> {
    match version {
        0 => Ok(V1),
        _ => Err(StoreError::Invalid(format!(
            "no migration from PostgreSQL schema {version}"
        ))),
    }
}
