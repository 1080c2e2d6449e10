//! The server's SQLite schema (house style: `VERSION`, the schema as SQL, `upgrade_from`). A new
//! store is version 1 brought forward by the same steps as an old one, so the two cannot differ.

use rusqlite::Transaction;

use super::{StoreError, StoreResult};

/// Marks a file as a Muster server store (`PRAGMA application_id`, ASCII "MUSV").
pub const APPLICATION_ID: i32 = 0x4D55_5356;
pub const VERSION: u32 = 7;

/// Version 1, the first server schema.
pub const V1: &str = r#"
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
    // A new store is version 1 brought forward by the same steps an old one takes, so the two
    // can never differ.
    let mut version = from;
    if version == 0 {
        tx.execute_batch(V1)?;
        version = 1;
    }
    for step in version..VERSION {
        upgrade_from(tx, step)?;
    }
    tx.pragma_update(None, "application_id", APPLICATION_ID)?;
    tx.pragma_update(None, "user_version", VERSION)?;
    Ok(())
}

/// Version 2: site geofences, the clock anchors that correct device times, feed fingerprints.
const V2: &str = r#"
ALTER TABLE sites ADD COLUMN geofence TEXT;
ALTER TABLE sites ADD COLUMN max_accuracy_m REAL NOT NULL DEFAULT 50;
CREATE TABLE clock_anchors (
    id             INTEGER PRIMARY KEY,
    boot_id        TEXT NOT NULL,
    device_id      TEXT NOT NULL,
    tenant_id      TEXT NOT NULL,
    monotonic_ms   INTEGER NOT NULL,
    device_wall_ms INTEGER NOT NULL,
    server_ms      INTEGER NOT NULL,
    uncertainty_ms INTEGER NOT NULL
) STRICT;
CREATE INDEX clock_anchors_by_boot ON clock_anchors (boot_id, server_ms);
-- A random fingerprint per feed entry: a device's cursor names one, so a store restored from a
-- backup (where that position holds another entry, or none) is detected.
ALTER TABLE feed ADD COLUMN nonce INTEGER NOT NULL DEFAULT 0;
"#;

/// Version 3: a record's id is its company's (documents, feed, records and flags keyed by company
/// and id, so a device pushing to another company's id is answered as for an id nobody has);
/// clock anchors belong to one device; the stamps each record holds, by the device that wrote
/// them, and the records waiting to be judged again; refresh-token rotation chains; private
/// anonymous actors.
const V3: &str = r#"
CREATE TABLE documents_v3 (
    id            TEXT NOT NULL,
    tenant_id     TEXT NOT NULL REFERENCES companies(id),
    kind          TEXT NOT NULL,
    site_id       TEXT NOT NULL,
    created_by    TEXT NOT NULL,
    snapshot      BLOB NOT NULL,
    snapshot_seq  INTEGER NOT NULL,
    chunk_count   INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, id)
) STRICT;
INSERT INTO documents_v3 (id, tenant_id, kind, site_id, created_by, snapshot, snapshot_seq, chunk_count)
    SELECT id, tenant_id, kind, site_id, created_by, snapshot, snapshot_seq, chunk_count FROM documents;

CREATE TABLE feed_v3 (
    seq           INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id     TEXT NOT NULL,
    doc_id        TEXT NOT NULL,
    kind          TEXT NOT NULL,
    site_id       TEXT NOT NULL,
    created_by    TEXT NOT NULL,
    origin_device TEXT NOT NULL,
    bytes         BLOB NOT NULL,
    nonce         INTEGER NOT NULL DEFAULT 0,
    FOREIGN KEY (tenant_id, doc_id) REFERENCES documents_v3 (tenant_id, id)
) STRICT;
INSERT INTO feed_v3 (seq, tenant_id, doc_id, kind, site_id, created_by, origin_device, bytes, nonce)
    SELECT seq, tenant_id, doc_id, kind, site_id, created_by, origin_device, bytes, nonce FROM feed;

CREATE TABLE records_v3 (
    id                 TEXT NOT NULL,
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
    content_hash       TEXT NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, id) REFERENCES documents_v3 (tenant_id, id)
) STRICT;
INSERT INTO records_v3 (id, tenant_id, kind, site_id, job_id, status, title, created_by, created_at_ms,
        completed_at_ms, work_started_at_ms, flags, blocking_findings, conflicts, content_hash)
    SELECT id, tenant_id, kind, site_id, job_id, status, title, created_by, created_at_ms,
        completed_at_ms, work_started_at_ms, flags, blocking_findings, conflicts, content_hash FROM records;

CREATE TABLE record_flags_v3 (
    tenant_id TEXT NOT NULL,
    record_id TEXT NOT NULL,
    code      TEXT NOT NULL,
    flag      TEXT NOT NULL,
    PRIMARY KEY (tenant_id, record_id, code, flag),
    FOREIGN KEY (tenant_id, record_id) REFERENCES records_v3 (tenant_id, id)
) STRICT, WITHOUT ROWID;
INSERT INTO record_flags_v3 (tenant_id, record_id, code, flag)
    SELECT r.tenant_id, f.record_id, f.code, f.flag FROM record_flags f JOIN records r ON r.id = f.record_id;

-- Children first, so no reference is left dangling; renaming a table also renames it in the
-- references to it.
DROP TABLE record_flags;
DROP TABLE records;
DROP TABLE feed;
DROP TABLE documents;
ALTER TABLE documents_v3 RENAME TO documents;
ALTER TABLE feed_v3 RENAME TO feed;
ALTER TABLE records_v3 RENAME TO records;
ALTER TABLE record_flags_v3 RENAME TO record_flags;
CREATE INDEX feed_by_tenant ON feed (tenant_id, seq);
CREATE INDEX feed_by_doc ON feed (tenant_id, doc_id, seq);
CREATE INDEX records_by_tenant ON records (tenant_id, created_at_ms DESC, id);
CREATE INDEX records_by_site ON records (tenant_id, site_id, created_at_ms DESC);
CREATE INDEX record_flags_by_code ON record_flags (tenant_id, code, record_id);

DROP INDEX clock_anchors_by_boot;
CREATE INDEX clock_anchors_by_device ON clock_anchors (tenant_id, device_id, boot_id, server_ms);
-- Which device wrote each stamp of a record (from the actor registry), so anchors arriving later
-- find the records they may change.
CREATE TABLE record_stamps (
    tenant_id    TEXT NOT NULL,
    doc_id       TEXT NOT NULL,
    device_id    TEXT NOT NULL,
    boot_id      TEXT NOT NULL,
    monotonic_ms INTEGER NOT NULL,
    FOREIGN KEY (tenant_id, doc_id) REFERENCES documents (tenant_id, id)
) STRICT;
CREATE INDEX record_stamps_by_boot ON record_stamps (tenant_id, device_id, boot_id, monotonic_ms);
CREATE INDEX record_stamps_by_doc ON record_stamps (tenant_id, doc_id);
-- Records whose flags must be computed again because facts arrived after they were stored.
CREATE TABLE rejudge_queue (
    tenant_id    TEXT NOT NULL,
    doc_id       TEXT NOT NULL,
    reason       TEXT NOT NULL,
    queued_at_ms INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, doc_id),
    FOREIGN KEY (tenant_id, doc_id) REFERENCES documents (tenant_id, id)
) STRICT;
-- Records stored before anchors belonged to one device were judged against any device's: judge
-- every one again (the worker also fills record_stamps for them).
INSERT INTO rejudge_queue (tenant_id, doc_id, reason, queued_at_ms)
    SELECT tenant_id, id, 'clock anchors now belong to one device', 0 FROM documents;
-- The token issued in exchange for this one; a lost answer lets the phone present this one again.
ALTER TABLE refresh_tokens ADD COLUMN replaced_by TEXT;
-- An actor a phone made for one anonymous report: linked to its person here only.
ALTER TABLE actors ADD COLUMN anonymous INTEGER NOT NULL DEFAULT 0;
"#;

/// Version 4: the projection's columns for every record kind, not only a JSEA's (when a record
/// was closed, who it is assigned to, when it is due). Every record is queued to be judged
/// again, which projects it afresh from its document.
const V4: &str = r#"
ALTER TABLE records ADD COLUMN closed_at_ms INTEGER;
ALTER TABLE records ADD COLUMN assignee TEXT;
ALTER TABLE records ADD COLUMN due_at_ms INTEGER;
CREATE INDEX records_by_assignee ON records (tenant_id, assignee, due_at_ms) WHERE assignee IS NOT NULL;
CREATE INDEX records_by_kind ON records (tenant_id, kind, created_at_ms DESC);
INSERT OR IGNORE INTO rejudge_queue (tenant_id, doc_id, reason, queued_at_ms)
    SELECT tenant_id, id, 'the projection gained columns for every kind', 0 FROM documents;
"#;

/// Version 5: the office web app. Each site's time zone, for showing its times (stored times stay
/// UTC; the default is `store::DEFAULT_TIME_ZONE`), and signed-in browsers. A session is keyed by
/// the SHA-256 of its cookie's token, so a copy of the database signs nobody in; an ended one is
/// kept, so a replayed cookie is recognised as ended.
const V5: &str = r#"
ALTER TABLE sites ADD COLUMN time_zone TEXT NOT NULL DEFAULT 'America/Edmonton';
CREATE TABLE web_sessions (
    token_hash      TEXT PRIMARY KEY,
    tenant_id       TEXT NOT NULL REFERENCES companies(id),
    user_id         TEXT NOT NULL REFERENCES users(id),
    csrf_token      TEXT NOT NULL,
    created_at_ms   INTEGER NOT NULL,
    last_seen_at_ms INTEGER NOT NULL,
    ended_at_ms     INTEGER
) STRICT;
CREATE INDEX web_sessions_by_user ON web_sessions (tenant_id, user_id);
"#;

/// Version 6: the program behind the forms. The equipment register (a unit is matched by its
/// number written without case, spaces or dashes, so "ld-3" on a phone is the register's "LD 3"),
/// each time a unit was held out of service by a corrective action and released by its closing,
/// site inspection schedules (RFC 5545 rules), and when each record's time-dependent flags next
/// change (an action falling due, a certificate's next expiry alert).
const V6: &str = r#"
CREATE TABLE equipment_units (
    tenant_id             TEXT NOT NULL REFERENCES companies(id),
    unit_key              TEXT NOT NULL,
    unit_id               TEXT NOT NULL,
    make_model            TEXT NOT NULL,
    serial                TEXT,
    equipment_type        TEXT NOT NULL DEFAULT '',
    required_certificates TEXT NOT NULL DEFAULT '[]',
    hour_meter            REAL,
    added_at_ms           INTEGER NOT NULL,
    added_by              TEXT NOT NULL,
    added_from_record     TEXT,
    retired               INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant_id, unit_key)
) STRICT;
CREATE TABLE equipment_holds (
    tenant_id      TEXT NOT NULL REFERENCES companies(id),
    unit_key       TEXT NOT NULL,
    action_id      TEXT NOT NULL,
    source_record  TEXT NOT NULL,
    held_at_ms     INTEGER NOT NULL,
    released_at_ms INTEGER,
    PRIMARY KEY (tenant_id, action_id)
) STRICT;
CREATE INDEX equipment_holds_by_unit ON equipment_holds (tenant_id, unit_key, held_at_ms);
CREATE TABLE inspection_schedules (
    id            TEXT NOT NULL,
    tenant_id     TEXT NOT NULL REFERENCES companies(id),
    site_id       TEXT NOT NULL,
    title         TEXT NOT NULL,
    checklist     TEXT NOT NULL,
    rrule         TEXT NOT NULL,
    starts_at_ms  INTEGER NOT NULL,
    assignee      TEXT NOT NULL,
    created_by    TEXT NOT NULL,
    created_at_ms INTEGER NOT NULL,
    ended_at_ms   INTEGER,
    PRIMARY KEY (tenant_id, id)
) STRICT;
CREATE INDEX inspection_schedules_by_site ON inspection_schedules (tenant_id, site_id);
CREATE TABLE rejudge_at (
    tenant_id TEXT NOT NULL,
    doc_id    TEXT NOT NULL,
    at_ms     INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, doc_id),
    FOREIGN KEY (tenant_id, doc_id) REFERENCES documents (tenant_id, id)
) STRICT;
CREATE INDEX rejudge_at_by_time ON rejudge_at (at_ms);
"#;

/// Version 7: the feed indexed by what a device's scope selects (its sites; a worker's own
/// records), so a device's sync reads its scope's entries, not the company's whole feed. The
/// site index carries kind and author, so a worker's range at a site skips others' private
/// records without reading the feed rows. The re-judging queue in the order it is taken, so
/// each round reads its batch instead of sorting the whole queue (every record, after an
/// upgrade that queues them all).
const V7: &str = r#"
CREATE INDEX feed_by_site ON feed (tenant_id, site_id, seq, kind, created_by);
CREATE INDEX feed_by_author ON feed (tenant_id, created_by, seq);
CREATE INDEX rejudge_queue_by_time ON rejudge_queue (queued_at_ms, doc_id);
"#;

fn upgrade_from(tx: &Transaction<'_>, version: u32) -> StoreResult<()> {
    match version {
        1 => tx.execute_batch(V2)?,
        2 => tx.execute_batch(V3)?,
        3 => tx.execute_batch(V4)?,
        4 => tx.execute_batch(V5)?,
        5 => tx.execute_batch(V6)?,
        6 => tx.execute_batch(V7)?,
        _ => {
            return Err(StoreError::Invalid(format!(
                "no migration from server schema {version}"
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use rusqlite::Connection;

    /// Tables, their columns and indexes, as SQLite describes them.
    fn shape(conn: &Connection) -> Vec<String> {
        let mut out = Vec::new();
        let mut tables = conn
            .prepare("SELECT type, name, tbl_name FROM sqlite_schema WHERE name NOT LIKE 'sqlite_%' ORDER BY type, name")
            .expect("schema");
        let rows: Vec<(String, String, String)> = tables
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .expect("rows")
            .collect::<Result<_, _>>()
            .expect("rows");
        for (kind, name, table) in rows {
            out.push(format!("{kind} {name} on {table}"));
            if kind == "table" {
                let mut cols = conn
                    .prepare(&format!("PRAGMA table_info({name})"))
                    .expect("columns");
                let described: Vec<String> = cols
                    .query_map([], |r| {
                        Ok(format!(
                            "  {} {} notnull={} default={:?} pk={}",
                            r.get::<_, String>(1)?,
                            r.get::<_, String>(2)?,
                            r.get::<_, i64>(3)?,
                            r.get::<_, Option<String>>(4)?,
                            r.get::<_, i64>(5)?
                        ))
                    })
                    .expect("cols")
                    .collect::<Result<_, _>>()
                    .expect("cols");
                out.extend(described);
            }
        }
        out
    }

    /// A version 2 store with records keeps them all through version 3's rebuild of the record
    /// tables, queues each to be judged again, and its feed goes on numbering after its last entry.
    #[test]
    fn records_survive_the_upgrade_to_company_keyed_ids() {
        let mut old = Connection::open_in_memory().expect("db");
        old.pragma_update(None, "foreign_keys", "ON").expect("fk");
        old.execute_batch(V1).expect("v1");
        old.execute_batch(V2).expect("v2");
        old.execute_batch(
            "INSERT INTO companies VALUES ('acme', 'Acme');
             INSERT INTO documents VALUES ('r1', 'acme', 'jsea', 'site', 'u1', x'00', 2, 0);
             INSERT INTO feed (tenant_id, doc_id, kind, site_id, created_by, origin_device, bytes, nonce)
                 VALUES ('acme', 'r1', 'jsea', 'site', 'u1', 'd1', x'01', 11),
                        ('acme', 'r1', 'jsea', 'site', 'u1', 'd1', x'02', 12);
             INSERT INTO records VALUES ('r1', 'acme', 'jsea', 'site', NULL, 'draft', 'Task', 'u1', 1, NULL,
                 NULL, '[\"a.b\"]', 0, 0, 'h');
             INSERT INTO record_flags VALUES ('r1', 'a.b', '{}');",
        )
        .expect("v2 data");
        let tx = old.transaction().expect("tx");
        upgrade(&tx, 2).expect("upgrade");
        tx.commit().expect("commit");
        let count = |sql: &str| -> i64 { old.query_row(sql, [], |r| r.get(0)).expect(sql) };
        assert_eq!(
            count("SELECT count(*) FROM documents WHERE tenant_id = 'acme' AND id = 'r1'"),
            1
        );
        assert_eq!(
            count("SELECT count(*) FROM feed WHERE tenant_id = 'acme' AND doc_id = 'r1'"),
            2
        );
        assert_eq!(count("SELECT count(*) FROM records WHERE tenant_id = 'acme'"), 1);
        assert_eq!(
            count("SELECT count(*) FROM record_flags WHERE tenant_id = 'acme' AND code = 'a.b'"),
            1
        );
        assert_eq!(count("SELECT count(*) FROM rejudge_queue WHERE doc_id = 'r1'"), 1);
        assert_eq!(
            count("SELECT count(*) FROM records WHERE closed_at_ms IS NULL AND assignee IS NULL"),
            1,
            "the new projection columns wait for the re-judging that fills them"
        );
        old.execute(
            "INSERT INTO feed (tenant_id, doc_id, kind, site_id, created_by, origin_device, bytes)
             VALUES ('acme', 'r1', 'jsea', 'site', 'u1', 'd1', x'03')",
            [],
        )
        .expect("a new feed entry");
        assert_eq!(count("SELECT max(seq) FROM feed"), 3, "feed numbering goes on");
        assert_eq!(count("SELECT count(*) FROM pragma_foreign_key_check"), 0);
        // The same id in another company is another record.
        old.execute_batch(
            "INSERT INTO companies VALUES ('other', 'Other');
             INSERT INTO documents VALUES ('r1', 'other', 'jsea', 'site', 'u9', x'00', 0, 0);",
        )
        .expect("same id, other company");
    }

    /// Sites made before sites had a time zone are in the default one, and the schema's default is
    /// the same zone as the one the code falls back to.
    #[test]
    fn sites_from_before_time_zones_are_in_the_default_zone() {
        assert!(
            V5.contains(&format!("DEFAULT '{}'", crate::store::DEFAULT_TIME_ZONE)),
            "the column's default is DEFAULT_TIME_ZONE"
        );
        let mut old = Connection::open_in_memory().expect("db");
        let tx = old.transaction().expect("tx");
        tx.execute_batch(V1).expect("v1");
        for step in 1..4 {
            upgrade_from(&tx, step).expect("to version 4");
        }
        tx.execute_batch(
            "INSERT INTO companies VALUES ('acme', 'Acme');
             INSERT INTO sites (id, tenant_id, name) VALUES ('s1', 'acme', 'Site A');",
        )
        .expect("v4 data");
        upgrade(&tx, 4).expect("upgrade");
        tx.commit().expect("commit");
        let zone: String = old
            .query_row("SELECT time_zone FROM sites WHERE id = 's1'", [], |r| r.get(0))
            .expect("site");
        assert_eq!(zone, crate::store::DEFAULT_TIME_ZONE);
    }

    #[test]
    fn an_upgraded_store_has_the_shape_of_a_new_one() {
        let mut fresh = Connection::open_in_memory().expect("db");
        let tx = fresh.transaction().expect("tx");
        upgrade(&tx, 0).expect("create");
        tx.commit().expect("commit");

        let mut old = Connection::open_in_memory().expect("db");
        old.execute_batch(V1).expect("v1");
        let tx = old.transaction().expect("tx");
        upgrade(&tx, 1).expect("upgrade");
        tx.commit().expect("commit");

        assert_eq!(shape(&old), shape(&fresh));
        let version: u32 = old
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .expect("version");
        assert_eq!(version, VERSION);
        let tx = old.transaction().expect("tx");
        assert!(upgrade(&tx, VERSION + 1).is_err(), "a newer store is refused");
    }

    /// A version 6 store on disk, with a feed, opens as version 7 with the feed indexed by site
    /// and author, and its feed reads the same as before.
    #[test]
    fn a_version_6_store_gains_the_feed_scope_indexes() {
        use crate::store::{DocumentStore, Scope};
        use sync_core::protocol::Role;
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("records.db");
        {
            let mut old = Connection::open(&path).expect("db");
            let tx = old.transaction().expect("tx");
            tx.execute_batch(V1).expect("v1");
            for step in 1..6 {
                upgrade_from(&tx, step).expect("to version 6");
            }
            tx.pragma_update(None, "application_id", APPLICATION_ID)
                .expect("id");
            tx.pragma_update(None, "user_version", 6).expect("version");
            tx.execute_batch(
                "INSERT INTO companies VALUES ('acme', 'Acme');
                 INSERT INTO documents VALUES ('r1', 'acme', 'jsea', 's1', 'u1', x'00', 0, 0);
                 INSERT INTO documents VALUES ('r2', 'acme', 'jsea', 's2', 'u2', x'00', 0, 0);
                 INSERT INTO feed (tenant_id, doc_id, kind, site_id, created_by, origin_device, bytes, nonce)
                     VALUES ('acme', 'r1', 'jsea', 's1', 'u1', 'd1', x'0102', 11),
                            ('acme', 'r2', 'jsea', 's2', 'u2', 'd2', x'03', 12),
                            ('acme', 'r1', 'jsea', 's1', 'u1', 'd1', x'04', 13);",
            )
            .expect("v6 data");
            tx.commit().expect("commit");
        }
        let store = crate::store::sqlite::SqliteStore::open(&path).expect("opens and upgrades");
        drop(store);
        let conn = Connection::open(&path).expect("db");
        let version: u32 = conn
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .expect("version");
        assert_eq!(version, 7);
        let indexes: Vec<String> = conn
            .prepare(
                "SELECT name FROM sqlite_schema WHERE type = 'index' AND tbl_name = 'feed' ORDER BY name",
            )
            .expect("indexes")
            .query_map([], |r| r.get(0))
            .expect("rows")
            .collect::<Result<_, _>>()
            .expect("rows");
        assert_eq!(
            indexes,
            ["feed_by_author", "feed_by_doc", "feed_by_site", "feed_by_tenant"]
        );
        let store = crate::store::sqlite::SqliteStore::open(&path).expect("opens");
        let scope = |role, sites: &[&str]| Scope {
            tenant_id: "acme".into(),
            user_id: "u1".into(),
            role,
            sites: sites.iter().map(|s| (*s).to_owned()).collect(),
        };
        let seqs = |scope: &Scope| -> Vec<u64> {
            store
                .feed(scope, 0, 100)
                .expect("feed")
                .iter()
                .map(|e| e.seq)
                .collect()
        };
        assert_eq!(seqs(&scope(Role::Supervisor, &["s1"])), [1, 3]);
        assert_eq!(seqs(&scope(Role::Supervisor, &["s2", "s1"])), [1, 2, 3]);
        assert_eq!(seqs(&scope(Role::Worker, &[])), [1, 3]);
        assert_eq!(seqs(&scope(Role::Admin, &[])), [1, 2, 3]);
    }
}
