//! The server's SQLite schema (house style: `VERSION`, the current schema, `upgrade_from`).

use rusqlite::Transaction;

use super::{StoreError, StoreResult};

/// Marks a file as a Muster server store (`PRAGMA application_id`, ASCII "MUSV").
pub const APPLICATION_ID: i32 = 0x4D55_5356;
pub const VERSION: u32 = 1;

pub const CURRENT: &str = r#"
CREATE TABLE companies (
    id   TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE
) STRICT;

CREATE TABLE sites (
    id        TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES companies(id),
    name      TEXT NOT NULL,
    UNIQUE (tenant_id, name)
) STRICT;

CREATE TABLE users (
    id            TEXT PRIMARY KEY,
    tenant_id     TEXT NOT NULL REFERENCES companies(id),
    email         TEXT NOT NULL UNIQUE COLLATE NOCASE,
    name          TEXT NOT NULL,
    role          TEXT NOT NULL CHECK (role IN ('worker', 'supervisor', 'admin')),
    password_hash TEXT NOT NULL,
    sites         TEXT NOT NULL,
    disabled      INTEGER NOT NULL DEFAULT 0
) STRICT;

CREATE TABLE devices (
    id              TEXT PRIMARY KEY,
    tenant_id       TEXT NOT NULL REFERENCES companies(id),
    user_id         TEXT NOT NULL REFERENCES users(id),
    name            TEXT NOT NULL,
    enrolled_at_ms  INTEGER NOT NULL,
    last_sync_at_ms INTEGER,
    last_clock      TEXT,
    revoked_at_ms   INTEGER
) STRICT;

CREATE TABLE refresh_tokens (
    token_hash    TEXT PRIMARY KEY,
    device_id     TEXT NOT NULL REFERENCES devices(id),
    user_id       TEXT NOT NULL,
    tenant_id     TEXT NOT NULL,
    expires_at_ms INTEGER NOT NULL,
    used_at_ms    INTEGER
) STRICT;

CREATE TABLE actors (
    actor     TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL,
    user_id   TEXT NOT NULL,
    device_id TEXT NOT NULL
) STRICT;

CREATE TABLE audit_log (
    id        INTEGER PRIMARY KEY,
    tenant_id TEXT NOT NULL,
    at_ms     INTEGER NOT NULL,
    user_id   TEXT NOT NULL,
    action    TEXT NOT NULL,
    detail    TEXT NOT NULL
) STRICT;
CREATE INDEX audit_by_tenant ON audit_log (tenant_id, at_ms DESC);

-- One row per record: the latest compacted snapshot and the feed position it includes.
CREATE TABLE documents (
    id            TEXT PRIMARY KEY,
    tenant_id     TEXT NOT NULL REFERENCES companies(id),
    kind          TEXT NOT NULL,
    site_id       TEXT NOT NULL,
    created_by    TEXT NOT NULL,
    snapshot      BLOB NOT NULL,
    snapshot_seq  INTEGER NOT NULL,
    chunk_count   INTEGER NOT NULL
) STRICT;

-- The change feed: every accepted push, in order. Devices pull from it by cursor; the chunks
-- after a document's snapshot_seq are also how the document is loaded.
CREATE TABLE feed (
    seq           INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id     TEXT NOT NULL,
    doc_id        TEXT NOT NULL REFERENCES documents(id),
    kind          TEXT NOT NULL,
    site_id       TEXT NOT NULL,
    created_by    TEXT NOT NULL,
    origin_device TEXT NOT NULL,
    bytes         BLOB NOT NULL
) STRICT;
CREATE INDEX feed_by_tenant ON feed (tenant_id, seq);
CREATE INDEX feed_by_doc ON feed (doc_id, seq);

CREATE TABLE records (
    id                 TEXT PRIMARY KEY REFERENCES documents(id),
    tenant_id          TEXT NOT NULL,
    kind               TEXT NOT NULL,
    site_id            TEXT NOT NULL,
    job_id             TEXT,
    status             TEXT NOT NULL,
    title              TEXT NOT NULL,
    created_by         TEXT NOT NULL,
    created_at_ms      INTEGER NOT NULL,
    completed_at_ms    INTEGER,
    work_started_at_ms INTEGER,
    flags              TEXT NOT NULL,
    blocking_findings  INTEGER NOT NULL,
    conflicts          INTEGER NOT NULL,
    content_hash       TEXT NOT NULL
) STRICT;
CREATE INDEX records_by_tenant ON records (tenant_id, created_at_ms DESC, id);
CREATE INDEX records_by_site ON records (tenant_id, site_id, created_at_ms DESC);

CREATE TABLE record_flags (
    record_id TEXT NOT NULL REFERENCES records(id),
    code      TEXT NOT NULL,
    flag      TEXT NOT NULL,
    PRIMARY KEY (record_id, code, flag)
) STRICT, WITHOUT ROWID;
CREATE INDEX record_flags_by_code ON record_flags (code, record_id);
"#;

pub fn upgrade(tx: &Transaction<'_>, from: u32) -> StoreResult<()> {
    if from > VERSION {
        return Err(StoreError::Invalid(format!(
            "the record store was written by a newer server (schema {from}, this server knows {VERSION})"
        )));
    }
    if from == 0 {
        tx.execute_batch(CURRENT)?;
    } else {
        for version in from..VERSION {
            upgrade_from(tx, version)?;
        }
    }
    tx.pragma_update(None, "application_id", APPLICATION_ID)?;
    tx.pragma_update(None, "user_version", VERSION)?;
    Ok(())
}

fn upgrade_from(_tx: &Transaction<'_>, version: u32) -> StoreResult<()> {
    // Version 1 is the first server schema; steps are added here as `1 => …`.
    Err(StoreError::Invalid(format!(
        "no migration from server schema {version}"
    )))
}
