//! The local store's schema and its migrations (house style: `VERSION`, the current schema as SQL,
//! `upgrade_from(v)` one step at a time, tracked in `PRAGMA user_version`).

use rusqlite::{Connection, Transaction};

use crate::error::{Error, Result};

/// Marks a file as a Muster device store (`PRAGMA application_id`, ASCII "MUST").
pub const APPLICATION_ID: i32 = 0x4D55_5354;

/// The schema version this build writes.
pub const VERSION: u32 = 3;

/// The oldest version [`upgrade`] can bring forward.
pub const OLDEST_UPGRADABLE: u32 = 1;

/// Version 1: documents, chunks, projection, outbox.
const V1: &str = r#"
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) STRICT;

-- One row per record document: the last compacted snapshot.
CREATE TABLE documents (
    id            TEXT PRIMARY KEY,
    kind          TEXT NOT NULL,
    snapshot      BLOB NOT NULL,
    chunk_count   INTEGER NOT NULL DEFAULT 0,
    -- Heads the server acknowledged (32-byte hashes concatenated); NULL when never synced.
    acked_heads   BLOB,
    updated_at_ms INTEGER NOT NULL
) STRICT;

-- Incremental change chunks written since the snapshot, folded in by compaction.
CREATE TABLE doc_chunks (
    doc_id TEXT NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
    seq    INTEGER NOT NULL,
    bytes  BLOB NOT NULL,
    PRIMARY KEY (doc_id, seq)
) STRICT;

-- Projection: one query row per record.
CREATE TABLE records (
    id                 TEXT PRIMARY KEY REFERENCES documents(id) ON DELETE CASCADE,
    kind               TEXT NOT NULL,
    tenant_id          TEXT NOT NULL,
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
CREATE INDEX records_by_created ON records (created_at_ms DESC, id);
CREATE INDEX records_by_kind ON records (kind, created_at_ms DESC);
CREATE INDEX records_by_site ON records (site_id, created_at_ms DESC);
CREATE INDEX records_by_status ON records (status, created_at_ms DESC);

CREATE TABLE record_flags (
    record_id TEXT NOT NULL REFERENCES records(id) ON DELETE CASCADE,
    code      TEXT NOT NULL,
    PRIMARY KEY (record_id, code)
) STRICT, WITHOUT ROWID;
CREATE INDEX record_flags_by_code ON record_flags (code, record_id);

-- Records with changes the server has not acknowledged yet.
CREATE TABLE outbox (
    doc_id       TEXT PRIMARY KEY REFERENCES documents(id) ON DELETE CASCADE,
    queued_at_ms INTEGER NOT NULL,
    edits        INTEGER NOT NULL
) STRICT;
"#;

/// Version 2 adds the reasons the server gave for refusing a record's changes.
const V2_REJECTIONS: &str = r#"
CREATE TABLE rejections (
    doc_id         TEXT PRIMARY KEY REFERENCES documents(id) ON DELETE CASCADE,
    code           TEXT NOT NULL,
    reason         TEXT NOT NULL,
    rejected_at_ms INTEGER NOT NULL
) STRICT;
"#;

/// Version 3: the projection's columns for every kind, not only a JSEA's: when a record was
/// closed, who it is assigned to and when it is due. Rows are projected again from their
/// documents by the upgrade.
const V3_GENERIC_PROJECTION: &str = r#"
ALTER TABLE records ADD COLUMN closed_at_ms INTEGER;
ALTER TABLE records ADD COLUMN assignee TEXT;
ALTER TABLE records ADD COLUMN due_at_ms INTEGER;
CREATE INDEX records_by_assignee ON records (assignee, due_at_ms) WHERE assignee IS NOT NULL;
CREATE INDEX records_by_due ON records (due_at_ms) WHERE due_at_ms IS NOT NULL;
"#;

/// The whole schema at [`VERSION`], used to create a new store. Built from the same steps an
/// upgrade takes, so an upgraded store's schema is a new store's, byte for byte.
pub fn current() -> String {
    format!("{V1}{V2_REJECTIONS}{V3_GENERIC_PROJECTION}")
}

/// The schema as it was at an older `version`, for upgrade tests.
pub fn historical(version: u32) -> Option<String> {
    match version {
        1 => Some(V1.to_owned()),
        2 => Some(format!("{V1}{V2_REJECTIONS}")),
        _ => None,
    }
}

/// Brings a store at `from` to [`VERSION`], one step at a time, inside `tx`.
pub fn upgrade(tx: &Transaction<'_>, from: u32) -> Result<()> {
    if from > VERSION {
        return Err(Error::SchemaTooNew {
            found: from,
            supported: VERSION,
        });
    }
    if from == 0 {
        // A new file: create the current schema directly.
        tx.execute_batch(&current())?;
    } else {
        for version in from..VERSION {
            upgrade_from(tx, version)?;
        }
    }
    tx.pragma_update(None, "application_id", APPLICATION_ID)?;
    tx.pragma_update(None, "user_version", VERSION)?;
    Ok(())
}

/// One migration step: from `version` to `version + 1`.
fn upgrade_from(tx: &Transaction<'_>, version: u32) -> Result<()> {
    match version {
        1 => tx.execute_batch(V2_REJECTIONS)?,
        2 => {
            tx.execute_batch(V3_GENERIC_PROJECTION)?;
            crate::store::reproject_all(tx)?;
        }
        _ => {
            return Err(Error::Invalid(format!(
                "no migration from schema version {version}"
            )));
        }
    }
    Ok(())
}

/// The schema as SQLite reports it, for comparing an upgraded store with a new one.
pub fn dump(conn: &Connection) -> Result<Vec<String>> {
    let mut stmt = conn.prepare(
        "SELECT type || ' ' || name || ': ' || COALESCE(sql, '') FROM sqlite_schema
         WHERE name NOT LIKE 'sqlite_%' ORDER BY type, name",
    )?;
    let rows = stmt.query_map([], |r| r.get::<_, String>(0))?;
    Ok(rows.collect::<Result<_, _>>()?)
}
